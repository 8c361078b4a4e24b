#!/usr/bin/env python3
"""Makes Tests/Fixtures/jpeg/: small JPEGs and their reference decodes, plus YUYV, resize,
colormap and overlay references for ImagingTests. Run once; the outputs are committed.

Every expected value here comes from a tool other than EdgeCAM:
- JPEGs are encoded by libjpeg-turbo's `cjpeg` and decoded by its `djpeg` (Debian package
  libjpeg-turbo-progs) with djpeg's defaults — accurate integer IDCT (islow) and fancy upsampling —
  the settings the Imaging decoder uses. `-scale 1/N` gives the DCT-scaled references.
- YUYV -> RGB, resize and overlay references are computed with numpy from the formulas documented in
  the Swift sources (BT.601 limited-range integer formula; TF2 half-pixel bilinear; exact-overlap
  area filter), written independently of the Swift code.
- Colormap points come from matplotlib.
Source photo: scikit-image's `chelsea` (CC0), as the 224x224 crop in ../shared/refs/imagenet/images.

Needs: python3 with numpy, Pillow, matplotlib; cjpeg/djpeg on PATH.
Run: python3 scripts/make-jpeg-fixtures.py
"""
import json
import pathlib
import subprocess

import matplotlib
import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "jpeg"
PHOTOS = ROOT.parent / "shared" / "refs" / "imagenet" / "images"
rng = np.random.default_rng(20261126)


def ppm_bytes(rgb):
    h, w, _ = rgb.shape
    return b"P6\n%d %d\n255\n" % (w, h) + rgb.astype(np.uint8).tobytes()


def parse_pnm(data):
    """Returns HxWx3 uint8 from djpeg's P6 (RGB) or P5 (grey, replicated to R=G=B) output."""
    magic, rest = data[:2], data[2:]
    fields, pos = [], 0
    while len(fields) < 3:
        while rest[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not rest[end:end + 1].isspace():
            end += 1
        fields.append(int(rest[pos:end]))
        pos = end
    pixels = rest[pos + 1:]
    w, h, maxval = fields
    assert maxval == 255
    if magic == b"P6":
        return np.frombuffer(pixels, np.uint8).reshape(h, w, 3)
    assert magic == b"P5"
    grey = np.frombuffer(pixels, np.uint8).reshape(h, w)
    return np.repeat(grey[:, :, None], 3, axis=2)  # libjpeg's grey->RGB output replicates


def cjpeg(rgb, *args):
    return subprocess.run(["cjpeg", *args], input=ppm_bytes(rgb), capture_output=True, check=True).stdout


def djpeg(jpeg, *args, expect_warning=False):
    r = subprocess.run(["djpeg", "-pnm", *args], input=jpeg, capture_output=True)
    if expect_warning:
        return r
    assert r.returncode == 0, r.stderr  # 2 would mean a libjpeg warning
    return parse_pnm(r.stdout)


def write(name, data):
    (OUT / name).write_bytes(bytes(data))


def segments(jpeg):
    """(marker, start, end) of each marker segment before the first SOS, plus the SOS itself."""
    out, p = [], 2
    while True:
        assert jpeg[p] == 0xFF
        marker = jpeg[p + 1]
        length = jpeg[p + 2] << 8 | jpeg[p + 3]
        out.append((marker, p, p + 2 + length))
        if marker == 0xDA:
            return out
        p += 2 + length


# MARK: JPEG fixtures
OUT.mkdir(parents=True, exist_ok=True)
photo_full = np.asarray(Image.open(PHOTOS / "chelsea.png").convert("RGB"))
photo = np.ascontiguousarray(photo_full[60:110, 70:145])  # 75x50: odd size, partial MCUs
write("photo-75x50.rgb", photo.tobytes())

variants = {
    "photo-420": ["-quality", "85", "-sample", "2x2"],
    "photo-422": ["-quality", "85", "-sample", "2x1"],
    "photo-progressive": ["-quality", "85", "-progressive"],
    "grey": ["-quality", "85", "-grayscale"],
}
jpegs = {}
for name, args in variants.items():
    jpegs[name] = cjpeg(photo, *args)
    write(name + ".jpg", jpegs[name])
    write(name + ".rgb", djpeg(jpegs[name]).tobytes())
for n in (2, 4, 8):
    write(f"photo-420-scale{n}.rgb", djpeg(jpegs["photo-420"], "-scale", f"1/{n}").tobytes())
write("photo-422-scale2.rgb", djpeg(jpegs["photo-422"], "-scale", "1/2").tobytes())
write("grey-scale4.rgb", djpeg(jpegs["grey"], "-scale", "1/4").tobytes())

# UVC-style frame: the same file with its DHT segments removed; libjpeg's standard tables (as
# cjpeg wrote them, payloads only) kept for comparison with the tables the decoder inserts.
base = jpegs["photo-420"]
dht = [(s, e) for m, s, e in segments(base) if m == 0xC4]
assert len(dht) == 4, "cjpeg should write 4 DHT segments (no -optimize)"
stripped, payload, last = bytearray(), bytearray(), 0
for s, e in dht:
    stripped += base[last:s]
    payload += base[s + 4:e]
    last = e
stripped += base[last:]
write("photo-420-nodht.jpg", stripped)

# A valid progressive file with 67 scans (luma AC one coefficient per scan): djpeg decodes it;
# the Imaging decoder stops after 64 scans (a guard against scan-count DoS files).
script = OUT / "many-scans.txt"
lines = ["0,1,2: 0-0, 0, 1;"] + [f"0: {k}-{k}, 0, 0;" for k in range(1, 64)]
lines += ["1: 1-63, 0, 0;", "2: 1-63, 0, 0;", "0,1,2: 0-0, 1, 0;"]
script.write_text("\n".join(lines) + "\n")
many = cjpeg(photo, "-quality", "85", "-sample", "1x1", "-scans", str(script))
script.unlink()
djpeg(many)  # asserts djpeg decodes it without warnings
write("many-scans.jpg", many)

# Restart markers in the scan (RSTn must not be taken for the end of the image).
restart = cjpeg(photo, "-quality", "85", "-sample", "2x2", "-restart", "1")
write("photo-420-restart.jpg", restart)
write("photo-420-restart.rgb", djpeg(restart).tobytes())
# An APP1 segment carrying a whole JPEG (like an EXIF thumbnail): its SOI/EOI must be skipped.
thumb = jpegs["grey"]
app1 = b"\xff\xe1" + (len(thumb) + 8).to_bytes(2, "big") + b"Exif\0\0" + thumb
write("photo-420-thumbnail.jpg", base[:2] + app1 + base[2:])
assert (djpeg(base[:2] + app1 + base[2:]) == djpeg(base)).all()
write("standard-dht-payload.bin", payload)

truncated = base[: len(base) * 6 // 10]
r = djpeg(truncated, expect_warning=True)
assert r.returncode == 2 and b"Premature end" in r.stderr, r.stderr
write("photo-420-truncated.jpg", truncated)
write("two-images.jpg", base + jpegs["grey"])  # decodes to photo-420
write("truncated-then-whole.jpg", truncated + jpegs["grey"])  # decodes to grey

garbage = bytearray(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
for i in range(len(garbage) - 1):
    if garbage[i] == 0xFF and garbage[i + 1] == 0xD8:
        garbage[i + 1] = 0x00
write("garbage.bin", garbage)
write("garbage-then-image.jpg", garbage[:200] + jpegs["photo-422"])  # decodes to photo-422
write("fake-soi.bin", b"\xff\xd8\xff\xe0\x00\x10" + garbage[:500])  # an SOI, then junk

# A scan with a bad byte that libjpeg itself reports (djpeg exits 2 with a "Corrupt JPEG data"
# warning): flip bytes in the entropy data until djpeg complains.
sos_end = segments(base)[-1][2]
for offset in range(sos_end + 40, len(base) - 10, 7):
    bad = bytearray(base)
    bad[offset] ^= 0xA5
    r = djpeg(bytes(bad), expect_warning=True)
    if r.returncode == 2 and b"Corrupt JPEG data" in r.stderr:
        write("photo-420-corrupt.jpg", bad)
        print("corrupt fixture: offset", offset, r.stderr.decode().strip())
        break
else:
    raise SystemExit("no corruption made djpeg warn")

Image.fromarray(photo).convert("CMYK").save(OUT / "cmyk.jpg", quality=85)

# MARK: YUYV -> RGB, BT.601 limited range, integer formula (documented in YUYVConversion.swift)
W, H = 16, 6
yuyv = rng.integers(0, 256, W * H * 2, dtype=np.uint8)
yuyv[: W * 2] = np.tile([16, 128, 235, 128], W // 2)  # first row: black and white, no colour
q = yuyv.reshape(H, W // 2, 4).astype(np.int64)
Y = np.stack([q[:, :, 0], q[:, :, 2]], axis=2).reshape(H, W)
U = np.repeat(q[:, :, 1], 2, axis=1)
V = np.repeat(q[:, :, 3], 2, axis=1)
C, D, E = Y - 16, U - 128, V - 128
rgb = np.stack([(298 * C + 409 * E + 128) >> 8,
                (298 * C - 100 * D - 208 * E + 128) >> 8,
                (298 * C + 516 * D + 128) >> 8], axis=2).clip(0, 255).astype(np.uint8)
# Sanity: the integer formula is within 1.5 of the exact BT.601 limited-range matrix.
exact = np.stack([1.164383 * C + 1.596027 * E, 1.164383 * C - 0.391762 * D - 0.812968 * E,
                  1.164383 * C + 2.017232 * D], axis=2).clip(0, 255)
assert np.abs(exact - rgb).max() <= 1.5
assert (rgb[0, 0::2] == 0).all() and (rgb[0, 1::2] == 255).all()
write("yuyv-16x6.yuyv", yuyv.tobytes())
write("yuyv-16x6.rgb", rgb.tobytes())

# MARK: resize references (numpy, float32 in TF's operation order; see Resize.swift)
def bilinear_axis(n_in, n_out):
    scale = np.float32(n_in) / np.float32(n_out)
    src = (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    lo = np.maximum(np.floor(src).astype(np.int64), 0)
    hi = np.minimum(np.ceil(src).astype(np.int64), n_in - 1)
    return lo, hi, (src - np.floor(src)).astype(np.float32)


def bilinear(img, w, h):
    img = img.astype(np.float32)
    if img.ndim == 2:
        img = img[:, :, None]
    x0, x1, fx = bilinear_axis(img.shape[1], w)
    y0, y1, fy = bilinear_axis(img.shape[0], h)
    fx = fx[None, :, None]
    top = img[y0][:, x0] + (img[y0][:, x1] - img[y0][:, x0]) * fx
    bottom = img[y1][:, x0] + (img[y1][:, x1] - img[y1][:, x0]) * fx
    return top + (bottom - top) * fy[:, None, None]


def area_matrix(n_in, n_out):
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = i * n_in / n_out, (i + 1) * n_in / n_out
        for j in range(int(np.floor(lo)), int(np.ceil(hi))):
            m[i, j] = (min(hi, j + 1) - max(lo, j)) / (n_in / n_out)
    return m


def to_bytes(v):
    return np.floor(np.asarray(v) + 0.5).clip(0, 255).astype(np.uint8)


for w, h in [(32, 24), (150, 97), (20, 49)]:
    write(f"photo-bilinear-{w}x{h}.rgb", to_bytes(bilinear(photo, w, h)).tobytes())
for w, h in [(25, 17), (30, 20), (7, 5)]:
    out = np.einsum("ij,jkc->ikc", area_matrix(50, h), photo.astype(np.float64))
    out = np.einsum("ij,kjc->kic", area_matrix(75, w), out)
    write(f"photo-area-{w}x{h}.rgb", to_bytes(out).tobytes())

# MARK: colormaps at a few points (matplotlib, bytes=True) and an overlay reference
points = [0.0, 0.0039, 0.005, 0.1, 0.25, 0.333, 0.5, 0.75, 0.9, 0.999, 1.0]
cmaps = {name: {"values": points,
                "rgb": matplotlib.colormaps[name](np.array(points, np.float32), bytes=True)[:, :3].tolist()}
         for name in ["jet", "turbo", "inferno", "viridis"]}
(OUT / "colormap-points.json").write_text(json.dumps(cmaps, indent=1) + "\n")

heat = rng.random((4, 5), dtype=np.float32)
heat[0, 0], heat[3, 4] = 0.0, 1.0
write("heatmap-5x4.f32", heat.astype("<f4").tobytes())
up = bilinear(heat, 75, 50)[:, :, 0]
colors = matplotlib.colormaps["jet"](up, bytes=True)[:, :, :3].astype(np.float32)
alpha = np.float32(0.4)
blend = (np.float32(1) - alpha) * photo.astype(np.float32) + alpha * colors
write("overlay-jet-0.4.rgb", to_bytes(blend).tobytes())
print("fixtures written to", OUT)
