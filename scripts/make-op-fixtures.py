#!/usr/bin/env python3
"""Make per-operator int8 reference fixtures with the OFFICIAL LiteRT interpreter.

What it makes
    Tests/Fixtures/ops/<case>/model.tflite   a tiny TFLite model built around ONE operator of interest
    Tests/Fixtures/ops/<case>/in<i>_s<k>.<ext>         model input i, sample k
    Tests/Fixtures/ops/<case>/ref_out<j>_s<k>.<ext>    output j, LiteRT reference kernels (BUILTIN_REF)
    Tests/Fixtures/ops/<case>/builtin_out<j>_s<k>.<ext> output j, LiteRT optimized built-in kernels, no delegate
    Tests/Fixtures/ops/<case>/xnnpack_out<j>_s<k>.<ext> output j, LiteRT default interpreter (XNNPACK delegate)
    Tests/Fixtures/ops/<case>/ref_t<n>_s<k>.<ext>      (models with >1 op only) intermediate tensor n, BUILTIN_REF
    Tests/Fixtures/ops/manifest.json and README.md
  Raw files: little-endian, C order, no header; <ext> is i8 / u8 / f32 / i32.  One file per sample.

  Each model is a tf.function with one TF op (weights are seeded random constants), converted by
  TensorFlow's TFLiteConverter with full-integer int8 post-training quantization (seeded representative
  dataset, int8 model input/output unless the case says float/uint8).  The op list of every converted
  model is checked against what the case expects; a case whose op was fused or rewritten away is
  listed under "dropped" in the manifest with the reason.  A few cases are *edited* after conversion
  (an operator re-typed or ops removed with the flatbuffer schema API, e.g. to get a standalone SQUEEZE
  or an int8->int8 QUANTIZE the converter never emits alone); the manifest says so ("edited").  Expected
  values always come from LiteRT, never from the project's code.

How to run (from anywhere; needs Python 3.11 and PyPI):
    python3 scripts/make-op-fixtures.py            # regenerate everything
    python3 scripts/make-op-fixtures.py conv2d     # only cases whose name contains "conv2d" (others kept)
  If not already running inside scripts/.venv with the pinned packages, the script creates that venv
  (git-ignored), installs the pins below with pip and re-executes itself there.  Takes about 20 s
  once the venv exists (the first install takes a few minutes; the venv is ~1.6 GB).

Exact versions used (pinned):
    tensorflow-cpu==2.21.0   (TFLiteConverter)
    ai-edge-litert==2.3.0    (interpreter: BUILTIN_REF / BUILTIN_WITHOUT_DEFAULT_DELEGATES / AUTO=XNNPACK)
    numpy==2.4.6
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

PINS = ["tensorflow-cpu==2.21.0", "ai-edge-litert==2.3.0", "numpy==2.4.6"]
SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
VENV = SCRIPT.parent / ".venv"
OUT = ROOT / "Tests" / "Fixtures" / "ops"
SAMPLES = 3
REP_COUNT = 64  # representative-dataset batches per model


def ensure_venv():
    """Run inside VENV with the pinned packages: create it, install the pins, re-execute there."""
    vpy = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        if pins_installed():
            return
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *PINS])
        return
    if not vpy.exists():
        print(f"creating {VENV} ...", file=sys.stderr, flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
        subprocess.check_call([str(vpy), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    os.execv(str(vpy), [str(vpy), str(SCRIPT), *sys.argv[1:]])


def pins_installed():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return all(version(p.split("==")[0]) == p.split("==")[1] for p in PINS)
    except PackageNotFoundError:
        return False


ensure_venv()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import flatbuffers  # noqa: E402
import ai_edge_litert  # noqa: E402
from ai_edge_litert import schema_py_generated as schema  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

tf.get_logger().setLevel("ERROR")

OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
OPTION_NAMES = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}
ACTIVATIONS = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}
PADDINGS = {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")}
EXT = {np.int8: "i8", np.uint8: "u8", np.float32: "f32", np.int32: "i32"}


# ----------------------------------------------------------------------------- cases

class Case:
    """One fixture: a TF function over float inputs and what the converted model must contain."""

    def __init__(self, name, op, build, inputs, expect, desc, in_type=tf.int8, out_type=tf.int8,
                 per_tensor=False, edit=None, note=""):
        self.name, self.op, self.build, self.inputs = name, op, build, inputs
        self.expect, self.desc, self.in_type, self.out_type = expect, desc, in_type, out_type
        self.per_tensor, self.edit, self.note = per_tensor, edit, note

    def rng(self, salt):
        return np.random.default_rng([zlib.crc32(self.name.encode()), salt])


def spread_weights(rng, shape, fan_in, out_axis):
    """Random weights with a different magnitude per output channel, so per-channel scales differ."""
    w = rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)
    gain_shape = [1] * len(shape)
    gain_shape[out_axis] = shape[out_axis]
    gain = rng.uniform(0.1, 3.0, size=gain_shape)
    return (w * gain).astype(np.float32)


ACTS = {
    "none": lambda y: y,
    "relu": tf.nn.relu,
    "relu6": tf.nn.relu6,
    "relun1to1": lambda y: tf.clip_by_value(y, -1.0, 1.0),
}
FUSED = {"none": "NONE", "relu": "RELU", "relu6": "RELU6", "relun1to1": "RELU_N1_TO_1"}


def conv_case(k, s, pad, cin, cout, act="none", dil=1, hw=(7, 9), per_tensor=False, bias=True,
              batch=1, suffix=""):
    sh, sw = (s, s) if isinstance(s, int) else s
    stride_txt = f"s{sh}" if sh == sw else f"s{sh}x{sw}"
    name = f"conv2d_{k}x{k}_{stride_txt}_{pad.lower()}" + (f"_dil{dil}" if dil > 1 else "") + \
        f"_c{cin}to{cout}_{act}" + ("_pertensor" if per_tensor else "") + ("" if bias else "_nobias") + suffix

    def build(rng):
        w = spread_weights(rng, (k, k, cin, cout), k * k * cin, 3)
        b = rng.normal(0.0, 0.3, size=cout).astype(np.float32)

        def f(x):
            y = tf.nn.conv2d(x, w, strides=[1, sh, sw, 1], padding=pad, dilations=dil)
            return ACTS[act](y + b if bias else y)
        return f
    return Case(name, "CONV_2D", build, [((batch, *hw, cin), -1.0, 1.5)], ["CONV_2D"],
                f"CONV_2D {k}x{k} stride {sh}x{sw} {pad} dilation {dil}, {cin}->{cout} channels, "
                f"fused {FUSED[act]}, {'per-tensor' if per_tensor else 'per-channel'} weights, "
                f"{'with' if bias else 'no'} bias, input {batch}x{hw[0]}x{hw[1]}x{cin}",
                per_tensor=per_tensor)


def dw_case(k, s, pad, c, m, act="none", dil=1, hw=(7, 9)):
    name = f"dwconv_{k}x{k}_s{s}_{pad.lower()}" + (f"_dil{dil}" if dil > 1 else "") + f"_c{c}_m{m}_{act}"

    def build(rng):
        w = spread_weights(rng, (k, k, c, m), k * k, 2)
        b = rng.normal(0.0, 0.3, size=c * m).astype(np.float32)

        def f(x):
            y = tf.nn.depthwise_conv2d(x, w, strides=[1, s, s, 1], padding=pad, dilations=[dil, dil])
            return ACTS[act](y + b)
        return f
    return Case(name, "DEPTHWISE_CONV_2D", build, [((1, *hw, c), -2.0, 1.0)], ["DEPTHWISE_CONV_2D"],
                f"DEPTHWISE_CONV_2D {k}x{k} stride {s} {pad} dilation {dil}, {c} channels, "
                f"depth multiplier {m}, fused {FUSED[act]}, input 1x{hw[0]}x{hw[1]}x{c}")


def fc_case(k, n, bias=True, act="none", lead=(1,), suffix=""):
    name = f"fc_k{k}_n{n}_{'bias' if bias else 'nobias'}_{act}" + suffix

    def build(rng):
        w = spread_weights(rng, (k, n), k, 1)
        b = rng.normal(0.0, 0.3, size=n).astype(np.float32)

        def f(x):
            y = tf.matmul(x, w)
            return ACTS[act](y + b if bias else y)
        return f
    return Case(name, "FULLY_CONNECTED", build, [((*lead, k), -1.0, 1.0)], ["FULLY_CONNECTED"],
                f"FULLY_CONNECTED {k}->{n}, {'with' if bias else 'no'} bias, fused {FUSED[act]}, "
                f"input {'x'.join(map(str, (*lead, k)))}")


def binary_case(op, kind, act="none"):
    tfop = {"ADD": tf.add, "SUB": tf.subtract, "MUL": tf.multiply}[op]
    x = ((1, 7, 9, 5), -1.0, 1.0)
    name = f"{op.lower()}_{kind}_{act}"
    if kind == "same":
        inputs, txt = [x, ((1, 7, 9, 5), -0.5, 3.0)], "two inputs 1x7x9x5 with different scales/zero points"

        def build(rng):
            return lambda a, b: ACTS[act](tfop(a, b))
    elif kind == "bcastvec":
        inputs, txt = [x, ((5,), -2.0, 0.5)], "1x7x9x5 with a [5] vector input (broadcast)"

        def build(rng):
            return lambda a, b: ACTS[act](tfop(a, b))
    elif kind == "bcast2d":
        inputs, txt = [((1, 7, 1, 5), -1.0, 1.0), ((1, 1, 9, 5), -3.0, 5.0)], \
            "1x7x1x5 with 1x9x5 (both sides broadcast)"

        def build(rng):
            return lambda a, b: ACTS[act](tfop(a, b))
    elif kind == "constvec":
        inputs, txt = [x], "1x7x9x5 with a constant [5] vector"

        def build(rng):
            v = rng.uniform(-1.5, 1.5, size=5).astype(np.float32)
            return lambda a: ACTS[act](tfop(a, v))
    elif kind == "scalar":
        inputs, txt = [x], "1x7x9x5 with a constant scalar"

        def build(rng):
            return lambda a: ACTS[act](tfop(a, np.float32(0.7)))
    else:
        raise ValueError(kind)
    return Case(name, op, build, inputs, [op], f"{op} {txt}, fused {FUSED[act]}")


def pool_case(kind, k, s, pad, hw=(7, 9), c=5):
    name = f"{kind}pool_{k}x{k}_s{s}_{pad.lower()}"
    op = "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"
    tfop = tf.nn.avg_pool2d if kind == "avg" else tf.nn.max_pool2d

    def build(rng):
        return lambda x: tfop(x, k, s, pad)
    return Case(name, op, build, [((1, *hw, c), -1.0, 2.0)], [op],
                f"{op} {k}x{k} stride {s} {pad}, input 1x{hw[0]}x{hw[1]}x{c}")


def simple(name, op, fn, inputs, expect=None, desc="", **kw):
    return Case(name, op, lambda rng: fn, inputs, expect or [op], desc or op, **kw)


# Edits of converted models (flatbuffer object API).  Only the graph is edited; values still come
# from LiteRT running the edited model.

def retype_single_op(new_op, options_type, options, version, drop_inputs_after=None):
    def edit(model):
        sg = model.subgraphs[0]
        assert len(sg.operators) == 1
        op = sg.operators[0]
        code = model.operatorCodes[op.opcodeIndex]
        old = OP_NAMES[max(code.builtinCode, code.deprecatedBuiltinCode)]
        code.builtinCode = getattr(schema.BuiltinOperator, new_op)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = version
        op.builtinOptionsType = getattr(schema.BuiltinOptions, options_type)
        op.builtinOptions = options
        if drop_inputs_after is not None:
            op.inputs = op.inputs[:drop_inputs_after]
        return f"converter emitted {old}; operator re-typed to {new_op} (v{version}) in the flatbuffer"
    return edit


def set_softmax_beta(beta):
    def edit(model):
        op = model.subgraphs[0].operators[0]
        op.builtinOptions.beta = beta
        return f"SOFTMAX beta set to {beta} in the flatbuffer (the converter only emits beta 1)"
    return edit


def keep_only_op(which):
    """Keep one operator; its non-constant inputs/outputs become the model's inputs/outputs."""
    def edit(model):
        sg = model.subgraphs[0]
        names = [OP_NAMES[max(model.operatorCodes[o.opcodeIndex].builtinCode,
                              model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode)] for o in sg.operators]
        op = sg.operators[which]
        sg.operators = [op]
        sg.inputs = np.array([t for t in op.inputs if t >= 0 and not has_data(model, t)], dtype=np.int32)
        sg.outputs = np.array(op.outputs, dtype=np.int32)
        return f"converter emitted {names}; all but {names[which]} removed in the flatbuffer"
    return edit


def has_data(model, t):
    buf = model.buffers[model.subgraphs[0].tensors[t].buffer]
    return buf.data is not None and len(buf.data) > 0


def squeeze_options(dims):
    o = schema.SqueezeOptionsT()
    o.squeezeDims = dims
    return o


def make_cases():
    C = []
    # CONV_2D
    C += [
        conv_case(1, 1, "VALID", 17, 5),
        conv_case(1, 1, "SAME", 3, 17, "relu6"),
        conv_case(1, 2, "VALID", 5, 8, "relu", hw=(11, 11)),
        conv_case(3, 1, "SAME", 3, 8, "relu"),
        conv_case(3, 1, "VALID", 5, 5, "relu6"),
        conv_case(3, 2, "SAME", 5, 17, "relu6"),
        conv_case(3, 2, "VALID", 17, 5),
        conv_case(3, 2, "SAME", 3, 8, "none", hw=(11, 11)),
        conv_case(3, (1, 2), "SAME", 5, 7, "relu"),
        conv_case(3, 1, "SAME", 5, 5, "relu", dil=2),
        conv_case(3, 1, "VALID", 3, 17, "none", dil=2, hw=(11, 11)),
        conv_case(5, 1, "SAME", 3, 17, "relu6"),
        conv_case(5, 1, "VALID", 5, 5),
        conv_case(5, 2, "SAME", 5, 8, "relu", hw=(11, 11)),
        conv_case(5, 2, "VALID", 3, 5, "relu6", hw=(11, 11)),
        conv_case(5, 1, "SAME", 3, 5, "none", dil=2),
        conv_case(3, 1, "SAME", 5, 8, "relun1to1"),
        conv_case(3, 1, "SAME", 5, 8, "relu", per_tensor=True),
        conv_case(1, 1, "VALID", 17, 5, "none", per_tensor=True, bias=False),
        conv_case(3, 1, "SAME", 3, 5, "relu6", batch=2),
    ]
    # DEPTHWISE_CONV_2D
    C += [
        dw_case(3, 1, "SAME", 5, 1, "relu6"),
        dw_case(3, 1, "VALID", 17, 1),
        dw_case(3, 2, "SAME", 17, 1, "relu"),
        dw_case(3, 2, "VALID", 5, 1, "relu6"),
        dw_case(3, 2, "SAME", 8, 1, "none", hw=(11, 11)),
        dw_case(3, 1, "SAME", 3, 2, "relu"),
        dw_case(3, 2, "SAME", 5, 2, "none"),
        dw_case(5, 1, "SAME", 5, 1, "relu6"),
        dw_case(5, 2, "SAME", 17, 1),
        dw_case(5, 2, "VALID", 3, 2, "relu", hw=(11, 11)),
        dw_case(5, 1, "VALID", 3, 2, "none"),
        dw_case(3, 1, "SAME", 5, 1, "relu6", dil=2),
        dw_case(3, 1, "VALID", 3, 2, "none", dil=2, hw=(11, 11)),
    ]
    # FULLY_CONNECTED
    C += [
        fc_case(17, 5, lead=(3,)),
        fc_case(33, 7, bias=False, lead=(2,)),
        fc_case(17, 9, act="relu", lead=(4,)),
        fc_case(64, 10, act="relu6"),
        fc_case(17, 7, lead=(1, 5), suffix="_rank3"),
    ]
    # ADD / SUB / MUL
    for op in ("ADD", "SUB", "MUL"):
        C += [
            binary_case(op, "same"),
            binary_case(op, "same", "relu"),
            binary_case(op, "bcastvec"),
            binary_case(op, "bcast2d"),
            binary_case(op, "constvec"),
            binary_case(op, "scalar", "relu6" if op == "ADD" else "none"),
        ]
    # Pools
    for kind in ("avg", "max"):
        C += [pool_case(kind, 2, 2, "VALID"), pool_case(kind, 3, 1, "SAME"), pool_case(kind, 3, 2, "SAME"),
              pool_case(kind, 3, 2, "VALID", hw=(11, 11), c=17)]
    # MEAN
    x4 = ((1, 7, 9, 5), -1.0, 2.0)
    C += [
        simple("mean_axes12", "MEAN", lambda x: tf.reduce_mean(x, [1, 2]), [x4],
               desc="MEAN over axes [1,2], keepdims false (global average pool)"),
        simple("mean_axes12_keepdims", "MEAN", lambda x: tf.reduce_mean(x, [1, 2], keepdims=True), [x4],
               desc="MEAN over axes [1,2], keepdims true"),
        simple("mean_axes12_c17_11x11", "MEAN", lambda x: tf.reduce_mean(x, [1, 2]),
               [((1, 11, 11, 17), 0.0, 6.0)], desc="MEAN over axes [1,2] of 11x11x17, input range [0,6]"),
        simple("mean_axis3", "MEAN", lambda x: tf.reduce_mean(x, [3]), [x4], desc="MEAN over axis 3"),
        simple("mean_axis1_keepdims", "MEAN", lambda x: tf.reduce_mean(x, [1], keepdims=True), [x4],
               desc="MEAN over axis 1, keepdims true"),
    ]
    # PAD
    C += [
        simple("pad_hw", "PAD", lambda x: tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]), [x4],
               desc="PAD top 1 bottom 2 left 0 right 1 with zeros"),
        simple("pad_all_axes", "PAD", lambda x: tf.pad(x, [[0, 0], [2, 0], [1, 1], [1, 2]]),
               [((1, 7, 9, 5), 0.5, 3.0)], desc="PAD H, W and C; input range [0.5,3] so 0 maps to -128"),
        simple("padv2_const", "PADV2", lambda x: tf.pad(x, [[0, 0], [1, 1], [2, 1], [0, 0]],
                                                        constant_values=0.5), [x4],
               desc="PADV2 with constant value 0.5"),
    ]
    # RESHAPE / SQUEEZE
    C += [
        simple("reshape_4d_to_3d", "RESHAPE", lambda x: tf.reshape(x, [1, 63, 5]), [x4],
               desc="RESHAPE 1x7x9x5 -> 1x63x5"),
        simple("reshape_flatten", "RESHAPE", lambda x: tf.reshape(x, [1, -1]), [x4],
               desc="RESHAPE 1x7x9x5 -> 1x315"),
        simple("squeeze_axis1", "SQUEEZE", lambda x: tf.reshape(x, [1, 9, 5]), [((1, 1, 9, 5), -1.0, 2.0)],
               expect=["RESHAPE"], desc="SQUEEZE axis 1 of 1x1x9x5",
               edit=retype_single_op("SQUEEZE", "SqueezeOptions", squeeze_options([1]), 1,
                                     drop_inputs_after=1),
               note="tf.squeeze is always converted to RESHAPE; the SQUEEZE op was made by re-typing it"),
    ]
    # CONCATENATION
    C += [
        simple("concat_axis3", "CONCATENATION", lambda a, b: tf.concat([a, b], 3),
               [((1, 7, 9, 5), -1.0, 1.0), ((1, 7, 9, 3), -3.0, 5.0)],
               desc="CONCATENATION on channels of two model inputs (the converter gives all the same scale)"),
        simple("concat_axis1", "CONCATENATION", lambda a, b: tf.concat([a, b], 1),
               [((1, 7, 9, 5), -1.0, 1.0), ((1, 3, 9, 5), -3.0, 5.0)],
               desc="CONCATENATION on axis 1 (height)"),
        simple("concat_requant_axis3", "CONCATENATION",
               lambda a, b: tf.concat([tf.sigmoid(a), b], 3),
               [((1, 7, 9, 5), -3.0, 3.0), ((1, 7, 9, 3), -3.0, 5.0)],
               expect=["LOGISTIC", "QUANTIZE", "CONCATENATION"],
               desc="CONCATENATION on channels of LOGISTIC output (fixed scale 1/256) and an input: "
                    "the converter inserts an int8->int8 QUANTIZE (requantize) before it"),
    ]
    # SOFTMAX
    C += [
        simple("softmax_2d", "SOFTMAX", lambda x: tf.nn.softmax(x), [((3, 10), -4.0, 4.0)],
               desc="SOFTMAX beta 1 on 3x10"),
        simple("softmax_4d", "SOFTMAX", lambda x: tf.nn.softmax(x), [((1, 7, 9, 5), -3.0, 3.0)],
               desc="SOFTMAX beta 1 over the last axis of 1x7x9x5"),
        simple("softmax_beta2", "SOFTMAX", lambda x: tf.nn.softmax(x), [((3, 10), -4.0, 4.0)],
               desc="SOFTMAX beta 2 on 3x10", edit=set_softmax_beta(2.0),
               note="tf.nn.softmax(beta*x) converts to MUL + SOFTMAX(beta 1); beta was edited"),
        Case("fc_softmax", "SOFTMAX", None, [((1, 33), -1.0, 1.0)], ["FULLY_CONNECTED", "SOFTMAX"],
             "FULLY_CONNECTED 33->10 with bias, then SOFTMAX beta 1"),
    ]

    def fc_softmax_build(rng):
        w = spread_weights(rng, (33, 10), 33, 1)
        b = rng.normal(0.0, 0.3, size=10).astype(np.float32)
        return lambda x: tf.nn.softmax(tf.matmul(x, w) + b)
    C[-1].build = fc_softmax_build
    # Activations
    C += [
        simple("logistic", "LOGISTIC", lambda x: tf.sigmoid(x), [((1, 7, 9, 5), -6.0, 6.0)],
               desc="LOGISTIC on input range [-6,6]"),
        simple("logistic_narrow", "LOGISTIC", lambda x: tf.sigmoid(x), [((1, 7, 9, 5), -1.0, 0.5)],
               desc="LOGISTIC on input range [-1,0.5]"),
        simple("hard_swish", "HARD_SWISH", lambda x: x * tf.nn.relu6(x + 3.0) / 6.0,
               [((1, 7, 9, 5), -5.0, 5.0)], desc="HARD_SWISH (x*relu6(x+3)/6 pattern) on [-5,5]"),
        simple("hard_swish_narrow", "HARD_SWISH", lambda x: x * tf.nn.relu6(x + 3.0) / 6.0,
               [((1, 7, 9, 5), -1.0, 8.0)], desc="HARD_SWISH on [-1,8]"),
        simple("relu", "RELU", tf.nn.relu, [((1, 7, 9, 5), -1.0, 2.0)], desc="RELU standalone"),
        simple("relu6", "RELU6", tf.nn.relu6, [((1, 7, 9, 5), -3.0, 8.0)], desc="RELU6 standalone"),
        simple("relu_n1_to_1", "RELU_N1_TO_1", lambda x: tf.clip_by_value(x, -1.0, 1.0),
               [((1, 7, 9, 5), -2.0, 2.5)], desc="RELU_N1_TO_1 standalone (tf.clip_by_value(x,-1,1))"),
    ]
    # QUANTIZE / DEQUANTIZE
    relu = tf.nn.relu
    C += [
        simple("quantize_f32_relu", "QUANTIZE", relu, [((1, 7, 9, 5), -1.0, 2.0)],
               expect=["QUANTIZE", "RELU"], in_type=tf.float32,
               desc="float32 input -> QUANTIZE -> RELU -> int8 output"),
        simple("quantize_f32", "QUANTIZE", relu, [((1, 7, 9, 5), -1.0, 2.0)],
               expect=["QUANTIZE", "RELU"], in_type=tf.float32, edit=keep_only_op(0),
               desc="QUANTIZE float32 -> int8 alone"),
        simple("quantize_u8", "QUANTIZE", relu, [((1, 7, 9, 5), -1.0, 2.0)],
               expect=["QUANTIZE", "RELU"], in_type=tf.uint8, edit=keep_only_op(0),
               desc="QUANTIZE uint8 -> int8 alone (the converter's uint8 model input)"),
        simple("requantize_i8", "QUANTIZE", relu, [((1, 7, 9, 5), -1.0, 2.0)], expect=["RELU"],
               edit=retype_single_op("QUANTIZE", "QuantizeOptions", schema.QuantizeOptionsT(), 2),
               desc="QUANTIZE int8 -> int8 (requantize) alone: a converted RELU model (input and output "
                    "scales differ) re-typed to QUANTIZE"),
        simple("dequantize_i8", "DEQUANTIZE", relu, [((1, 7, 9, 5), -1.0, 2.0)],
               expect=["RELU", "DEQUANTIZE"], out_type=tf.float32, edit=keep_only_op(1),
               desc="DEQUANTIZE int8 -> float32 alone"),
        simple("relu_i8_in_f32_out", "DEQUANTIZE", relu, [((1, 7, 9, 5), -1.0, 2.0)],
               expect=["RELU", "DEQUANTIZE"], out_type=tf.float32,
               desc="int8 input -> RELU -> DEQUANTIZE -> float32 output"),
    ]
    cf = conv_case(3, 1, "SAME", 3, 8, "relu6")
    C.append(Case("conv2d_3x3_s1_same_c3to8_relu6_floatio", "CONV_2D", cf.build, cf.inputs,
                  ["QUANTIZE", "CONV_2D", "DEQUANTIZE"],
                  "float32 in/out: QUANTIZE -> CONV_2D 3x3 SAME relu6 -> DEQUANTIZE",
                  in_type=tf.float32, out_type=tf.float32))
    return C


# ----------------------------------------------------------------------------- conversion

def convert(case):
    # Named so that model inputs can be matched to case inputs (the converter may reorder them).
    specs = [tf.TensorSpec(list(shape), tf.float32, name=f"input_{i}")
             for i, (shape, _, _) in enumerate(case.inputs)]
    fn = case.build(case.rng(1))
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    rep_rng = case.rng(2)

    def representative():
        for _ in range(REP_COUNT):
            yield [rep_rng.uniform(lo, hi, size=shape).astype(np.float32) for shape, lo, hi in case.inputs]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], tf.Module())
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = case.in_type
    conv.inference_output_type = case.out_type
    if case.per_tensor:
        conv._experimental_disable_per_channel = True
    return conv.convert()


def op_list(model_t):
    sg = model_t.subgraphs[0]
    out = []
    for i, op in enumerate(sg.operators):
        code = model_t.operatorCodes[op.opcodeIndex]
        name = OP_NAMES[max(code.builtinCode, code.deprecatedBuiltinCode)]
        opts = {}
        if op.builtinOptions is not None:
            for k, v in vars(op.builtinOptions).items():
                if isinstance(v, np.ndarray):
                    v = v.tolist()
                if k == "fusedActivationFunction":
                    v = ACTIVATIONS[v]
                elif k == "padding":
                    v = PADDINGS[v]
                elif isinstance(v, (np.floating, float)):
                    v = float(v)
                opts[k] = v
        out.append({"index": i, "op": name, "version": int(code.version),
                    "inputs": [int(t) for t in op.inputs], "outputs": [int(t) for t in op.outputs],
                    "options_type": OPTION_NAMES.get(op.builtinOptionsType, "NONE"), "options": opts})
    return out


def pack(model_t):
    b = flatbuffers.Builder(4096)
    b.Finish(model_t.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


# ----------------------------------------------------------------------------- running

def quant(detail):
    q = detail["quantization_parameters"]
    scales, zps = q["scales"].tolist(), q["zero_points"].tolist()
    return {"scale": float(scales[0]) if len(scales) == 1 else (scales or None),
            "zero_point": int(zps[0]) if len(zps) == 1 else (zps or None)}


def tensor_entry(d):
    dt = np.dtype(d["dtype"]).type
    return {"tensor_index": int(d["index"]), "name": d["name"], "dtype": EXT[dt],
            "shape": [int(s) for s in d["shape"]], **quant(d)}


def case_input_of(case, detail):
    """The case input (shape, lo, hi) that a model input tensor comes from."""
    m = re.search(r"input_(\d+)", detail["name"])
    if m is not None:
        spec = case.inputs[int(m.group(1))]
    else:  # an edited model whose input was an intermediate tensor: match by shape
        same = [c for c in case.inputs if tuple(c[0]) == tuple(detail["shape"])]
        if len(same) != 1:
            raise RuntimeError(f"{case.name}: cannot match model input {detail['name']!r} to a case input")
        spec = same[0]
    assert tuple(spec[0]) == tuple(detail["shape"]), (case.name, spec, detail["shape"])
    return spec


def float_input_quantization(interp, tensor):
    """Scale and zero point of the QUANTIZE that consumes a float model input."""
    for op in interp._get_ops_details():
        if op["op_name"] == "QUANTIZE" and tensor in list(op["inputs"]):
            return interp._get_tensor_details(int(op["outputs"][0]), subgraph_index=0)["quantization"]
    raise RuntimeError(f"float input tensor {tensor} is not consumed by a QUANTIZE")


def make_inputs(case, interp, count):
    rng = case.rng(3)
    details = interp.get_input_details()
    samples = []
    for k in range(count):
        sample = []
        for d in details:
            shape, lo, hi = case_input_of(case, d)
            dt = np.dtype(d["dtype"]).type
            scale, zp = d["quantization"]
            if dt == np.float32:
                scale, zp = float_input_quantization(interp, d["index"])
            if dt in (np.int8, np.uint8):
                qmin, qmax = (-128, 127) if dt == np.int8 else (0, 255)
                if k == 0:  # a realistic sample: quantized from the calibration distribution
                    f = rng.uniform(lo, hi, size=shape)
                    v = np.clip(np.round(f / scale) + zp, qmin, qmax)
                elif k == 1:  # uniform over the whole integer range
                    v = rng.integers(qmin, qmax + 1, size=shape)
                else:  # half saturated
                    v = rng.integers(qmin, qmax + 1, size=shape)
                    ext = rng.random(size=shape) < 0.5
                    v[ext] = rng.choice([qmin, qmax], size=int(ext.sum()))
                v = v.astype(dt)
                v.flat[0], v.flat[-1] = qmin, qmax
            else:
                if k == 0:
                    v = rng.uniform(lo, hi, size=shape)
                elif k == 1:  # beyond the calibrated range: exercises saturation
                    span = hi - lo
                    v = rng.uniform(lo - 0.5 * span, hi + 0.5 * span, size=shape)
                else:  # values on and next to rounding ties of the input quantization
                    q = rng.integers(-128, 127, size=shape).astype(np.float64)
                    v = (q - zp + 0.5) * scale
                v = v.astype(np.float32)
                if v.size >= 4:
                    v.flat[0], v.flat[1], v.flat[2], v.flat[-1] = lo, hi, 0.0, -0.0
            sample.append(v)
        samples.append(sample)
    return samples


def run(model, resolver, samples, preserve=False):
    it = Interpreter(model_content=model, experimental_op_resolver_type=resolver, num_threads=1,
                     experimental_preserve_all_tensors=preserve)
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    results = []
    for sample in samples:
        for d, v in zip(ins, sample):
            it.set_tensor(d["index"], v)
        it.invoke()
        r = {"outputs": [it.get_tensor(d["index"]).copy() for d in outs]}
        if preserve:
            r["tensors"] = {i: it.get_tensor(i).copy() for i in range(len(it.get_tensor_details()))
                            if _is_activation(it, i)}
        results.append(r)
    return it, results


def _is_activation(it, i):
    try:
        it.get_tensor(i)
        return True
    except ValueError:
        return False


def diff_stats(a_list, b_list):
    count = total = 0
    max_abs = 0.0
    for a, b in zip(a_list, b_list):
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        count += int((d != 0).sum())
        total += d.size
        max_abs = max(max_abs, float(d.max()) if d.size else 0.0)
    if a_list and np.issubdtype(a_list[0].dtype, np.integer):
        max_abs = int(max_abs)
    return {"differing": count, "of": total, "max_abs": max_abs}


def write(path, arr):
    path.write_bytes(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())


def produce(case):
    model = convert(case)
    model_t = schema.ModelT.InitFromPackedBuf(model, 0)
    converted_ops = [o["op"] for o in op_list(model_t)]
    entry = {"name": case.name, "op": case.op, "description": case.desc}
    if converted_ops != case.expect:
        if case.op not in converted_ops or case.edit is not None:
            return None, {"name": case.name, "op": case.op, "description": case.desc,
                          "converter_ops": converted_ops,
                          "reason": f"the converter emitted {converted_ops}, not {case.op}"}
        entry["notes"] = [f"expected {case.expect}, the converter emitted {converted_ops}"]
    notes = entry.setdefault("notes", [])
    if case.note:
        notes.append(case.note)
    if case.edit is not None:
        notes.append(case.edit(model_t))
        model = pack(model_t)
        model_t = schema.ModelT.InitFromPackedBuf(model, 0)
        entry["edited"] = True
    if not notes:
        del entry["notes"]
    ops = op_list(model_t)

    ref_it, ref_probe = run(model, OpResolverType.BUILTIN_REF, [])
    samples = make_inputs(case, ref_it, SAMPLES)
    ref_it, ref = run(model, OpResolverType.BUILTIN_REF, samples, preserve=len(ops) > 1)
    # The interpreter's execution order must be the flatbuffer's operator order.
    executed = [d["op_name"] for d in ref_it._get_ops_details()]
    assert executed == [o["op"] for o in ops], (case.name, executed, ops)
    _, opt = run(model, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, samples)
    xnn_it, xnn = run(model, OpResolverType.AUTO, samples)
    delegated = [d for d in xnn_it._get_ops_details() if d["op_name"] == "DELEGATE"]

    d = OUT / case.name
    d.mkdir(parents=True)
    (d / "model.tflite").write_bytes(model)
    inputs, outputs = [], []
    for i, det in enumerate(ref_it.get_input_details()):
        e = tensor_entry(det)
        e["files"] = [f"in{i}_s{k}.{e['dtype']}" for k in range(SAMPLES)]
        for k in range(SAMPLES):
            write(d / e["files"][k], samples[k][i])
        inputs.append(e)
    for j, det in enumerate(ref_it.get_output_details()):
        e = tensor_entry(det)
        e["files"] = {}
        for kind, res in (("ref", ref), ("builtin", opt), ("xnnpack", xnn)):
            e["files"][kind] = [f"{kind}_out{j}_s{k}.{e['dtype']}" for k in range(SAMPLES)]
            for k in range(SAMPLES):
                write(d / e["files"][kind][k], res[k]["outputs"][j])
        e["builtin_vs_ref"] = diff_stats([r["outputs"][j] for r in opt], [r["outputs"][j] for r in ref])
        e["xnnpack_vs_ref"] = diff_stats([r["outputs"][j] for r in xnn], [r["outputs"][j] for r in ref])
        outputs.append(e)
    intermediates = []
    if len(ops) > 1:
        io = {e["tensor_index"] for e in inputs + outputs}
        details = {t["index"]: t for t in ref_it.get_tensor_details()}
        for o in ops:
            for t in o["outputs"]:
                if t in io:
                    continue
                e = tensor_entry(details[t])
                e["produced_by_op"] = o["index"]
                e["files"] = [f"ref_t{t}_s{k}.{e['dtype']}" for k in range(SAMPLES)]
                for k in range(SAMPLES):
                    write(d / e["files"][k], ref[k]["tensors"][t])
                intermediates.append(e)
    entry.update({
        "dir": case.name, "model": f"{case.name}/model.tflite", "model_bytes": len(model),
        "ops": ops, "samples": SAMPLES, "inputs": inputs, "outputs": outputs,
        "xnnpack_delegated": bool(delegated),
    })
    if intermediates:
        entry["intermediates_ref"] = intermediates
    return entry, None


# ----------------------------------------------------------------------------- README

README_HEAD = """# Per-operator int8 fixtures (made by LiteRT, not by this project)

Generated by `scripts/make-op-fixtures.py` — regenerate with

    python3 scripts/make-op-fixtures.py

(creates `scripts/.venv` with the pinned packages on first use).  Produced with {versions}.
Do not edit by hand: the expected values here come from the official LiteRT interpreter only.

## Layout
Each `<case>/` holds one tiny model built around one operator, converted by TensorFlow's
`TFLiteConverter` (full-integer int8 post-training quantization, per-channel weights unless the case
says per-tensor, seeded representative dataset) and run by LiteRT on {samples} seeded samples:

| file | what |
|---|---|
| `model.tflite` | the model |
| `in<i>_s<k>.<ext>` | model input `i`, sample `k` (k = 0..{last}) |
| `ref_out<j>_s<k>.<ext>` | output `j`, **reference kernels** (`OpResolverType.BUILTIN_REF`) — the bit-exact target |
| `builtin_out<j>_s<k>.<ext>` | output `j`, optimized built-in kernels (`BUILTIN_WITHOUT_DEFAULT_DELEGATES`) |
| `xnnpack_out<j>_s<k>.<ext>` | output `j`, default interpreter (`AUTO`: XNNPACK delegate where it takes the op) |
| `ref_t<n>_s<k>.<ext>` | models with more than one op only: intermediate tensor `n`, reference kernels |

Raw little-endian, C order, no header, exact tensor shape (batch included); `<ext>` = `i8`, `u8`, `f32`.
All runs use `num_threads=1`.  Samples: `s0` quantized from the calibration distribution, `s1` uniform
over the whole integer range, `s2` half of the elements at the extremes; every integer sample starts
with the minimum and ends with the maximum (-128 / 127).  Float inputs: `s0` calibration range, `s1`
beyond it (saturation), `s2` exactly on quantization rounding ties.

`manifest.json`: `cases[]` with `name`, `op` (the op of interest), `model`, `ops[]` (execution order:
op name, version, input/output tensor indices, builtin options with enum names), `inputs[]` /
`outputs[]` (`tensor_index`, `name`, `dtype`, `shape`, `scale`, `zero_point`, `files`), `samples`,
`xnnpack_delegated`, `builtin_vs_ref` / `xnnpack_vs_ref` (elements that differ from the reference
kernels, max |diff| in LSB), `intermediates_ref[]`, `notes`, `edited`; and `dropped[]`: cases the
converter could not produce, with the reason.  `edited` models were changed after conversion with the
flatbuffer schema API (op re-typed or ops removed) because the converter never emits that op alone.

## Cases
| case | ops | in → out | builtin≠ref | xnnpack≠ref |
|---|---|---|---|---|
"""


def fmt_io(entry):
    def one(e):
        return f"{e['dtype']} {'x'.join(map(str, e['shape']))}"
    return ", ".join(one(e) for e in entry["inputs"]) + " → " + ", ".join(one(e) for e in entry["outputs"])


def fmt_diff(entry, key):
    parts = []
    for e in entry["outputs"]:
        s = e[key]
        mx = s["max_abs"] if isinstance(s["max_abs"], int) else f"{s['max_abs']:.3g}"
        parts.append("0" if s["differing"] == 0 else f"{s['differing']}/{s['of']} (max {mx})")
    txt = ", ".join(parts)
    if key == "xnnpack_vs_ref" and not entry["xnnpack_delegated"]:
        txt += " (not delegated)"
    return txt


def write_readme(manifest):
    g = manifest["generator"]
    versions = (f"TensorFlow {g['tensorflow']} (converter), ai-edge-litert {g['ai_edge_litert']} "
                f"(interpreter), numpy {g['numpy']}, Python {g['python']}")
    text = README_HEAD.format(versions=versions, samples=SAMPLES, last=SAMPLES - 1)
    for c in manifest["cases"]:
        ops = " → ".join(o["op"] for o in c["ops"])
        flag = " (edited)" if c.get("edited") else ""
        text += (f"| `{c['name']}`{flag} | {ops} | {fmt_io(c)} | {fmt_diff(c, 'builtin_vs_ref')} | "
                 f"{fmt_diff(c, 'xnnpack_vs_ref')} |\n")
    text += "\n## Not produced\n"
    if manifest["dropped"]:
        for c in manifest["dropped"]:
            text += f"- `{c['name']}` ({c['op']}): {c['reason']}\n"
    else:
        text += "- none\n"
    text += "\n## Converter behaviour worth knowing\n"
    for n in manifest["converter_notes"]:
        text += f"- {n}\n"
    (OUT / "README.md").write_text(text)


CONVERTER_NOTES = [
    "`tf.squeeze` always becomes RESHAPE; `squeeze_axis1` re-types it to SQUEEZE (v1).",
    "`tf.nn.softmax(beta*x)` becomes MUL + SOFTMAX(beta 1); `softmax_beta2` edits beta in the flatbuffer.",
    "CONCATENATION of model inputs: the converter gives every input the output's scale and zero point "
    "(the int8 kernel requires it), so no rescaling happens inside the op; when an input has a fixed scale "
    "(LOGISTIC's 1/256) it inserts an int8->int8 QUANTIZE instead (`concat_requant_axis3`).",
    "The converter never emits QUANTIZE int8->int8, QUANTIZE float->int8 / uint8->int8 or DEQUANTIZE "
    "alone; the standalone cases remove the other ops or re-type a RELU (`requantize_i8`).",
    "AVERAGE_POOL_2D, MAX_POOL_2D, PAD, PADV2, RESHAPE, SQUEEZE and CONCATENATION keep the input scale "
    "and zero point on the output; a RELU after MAX_POOL_2D is removed (folded into the output range).",
    "A fake-quant (tf.quantization.fake_quant_*) next to an int8 model boundary is absorbed into the "
    "boundary's quantization: it does not produce a requantize op.",
    "`tf.clip_by_value(x, -1, 1)` becomes RELU_N1_TO_1 standalone, and a fused RELU_N1_TO_1 after CONV_2D.",
    "QUANTIZE float->int8: the reference kernel computes round(x / scale) with a float32 division and "
    "rounds half away from zero; the optimized kernel rounds ties to even (and multiplies by 1/scale), "
    "so they differ by 1 on the tie sample s2 of `quantize_f32*` and the float-I/O conv.",
    "Float outputs: the optimized DEQUANTIZE differs from the reference by 1 float ulp on some elements "
    "(the reference kernel multiplies in double, then rounds to float).",
]


def main():
    selected = sys.argv[1:]
    t0 = time.time()
    cases = make_cases()
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    old = {}
    if selected and (OUT / "manifest.json").exists():
        prev = json.loads((OUT / "manifest.json").read_text())
        old = {c["name"]: c for c in prev["cases"]}
        old_dropped = {c["name"]: c for c in prev["dropped"]}
    else:
        if OUT.exists():
            shutil.rmtree(OUT)
        old_dropped = {}
    OUT.mkdir(parents=True, exist_ok=True)
    kept, dropped = [], []
    for case in cases:
        if selected and not any(s in case.name for s in selected):
            if case.name in old:
                kept.append(old[case.name])
            elif case.name in old_dropped:
                dropped.append(old_dropped[case.name])
            continue
        if (OUT / case.name).exists():
            shutil.rmtree(OUT / case.name)
        t = time.time()
        entry, drop = produce(case)
        if entry:
            kept.append(entry)
            diffs = "; ".join(f"builtin {o['builtin_vs_ref']['differing']} xnnpack "
                              f"{o['xnnpack_vs_ref']['differing']}" for o in entry["outputs"])
            print(f"{case.name:45s} {' '.join(o['op'] for o in entry['ops']):40s} {diffs} "
                  f"({time.time() - t:.1f}s)", flush=True)
        else:
            dropped.append(drop)
            print(f"{case.name:45s} DROPPED: {drop['reason']}", flush=True)
    manifest = {
        "generator": {
            "script": "scripts/make-op-fixtures.py",
            "tensorflow": tf.__version__,
            "ai_edge_litert": getattr(ai_edge_litert, "__version__", None) or _dist_version("ai-edge-litert"),
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "num_threads": 1,
            "samples_per_case": SAMPLES,
        },
        "file_naming": "in<i>_s<k>, ref_out<j>_s<k> (BUILTIN_REF), builtin_out<j>_s<k> "
                       "(BUILTIN_WITHOUT_DEFAULT_DELEGATES), xnnpack_out<j>_s<k> (AUTO, XNNPACK), "
                       "ref_t<tensor>_s<k> (intermediates, BUILTIN_REF); raw little-endian, C order",
        "converter_notes": CONVERTER_NOTES,
        "cases": kept,
        "dropped": dropped,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    write_readme(manifest)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{len(kept)} cases, {len(dropped)} dropped, {size / 1024:.0f} KiB in {OUT}, "
          f"{time.time() - t0:.0f} s")


def _dist_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    main()
