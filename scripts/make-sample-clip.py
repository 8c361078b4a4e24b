#!/usr/bin/env python3
"""Builds demo/sample.mjpeg: a short MJPEG clip for the README's main command.

It pans and zooms (a "Ken Burns" move) across three freely licensed photos that ship with
scikit-image, so that the subject moves through the frame like a camera feed:
  chelsea   (the cat)        CC0
  coffee    (coffee cup)     CC0
  astronaut (Eileen Collins) public domain (NASA)

Usage (from the project root):
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scikit-image Pillow
  /tmp/venv/bin/python scripts/make-sample-clip.py [--size 640x480] [--frames-per-photo 16] [--quality 30]

Output is deterministic for a given scikit-image/Pillow version.
"""
import argparse
import io
import pathlib

from PIL import Image
from skimage import data

PHOTOS = [
    # name, start box, end box (fractions of the photo: left, top, right, bottom)
    ("chelsea", (0.00, 0.00, 1.00, 1.00), (0.25, 0.05, 0.80, 0.75)),
    ("coffee", (0.30, 0.20, 0.90, 0.85), (0.00, 0.00, 1.00, 1.00)),
    ("astronaut", (0.05, 0.00, 0.95, 1.00), (0.30, 0.05, 0.75, 0.55)),
]


def lerp(a, b, t):
    return tuple(x + (y - x) * t for x, y in zip(a, b))


def fit_aspect(box, width, height, aspect):
    """Grows the box's shorter side so the crop has the output's aspect ratio."""
    left, top, right, bottom = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    w, h = right - left, bottom - top
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    cx, cy = (left + right) / 2, (top + bottom) / 2
    w, h = min(w, width), min(h, height)
    cx = min(max(cx, w / 2), width - w / 2)
    cy = min(max(cy, h / 2), height - h / 2)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--frames-per-photo", type=int, default=16)
    parser.add_argument("--quality", type=int, default=30)
    parser.add_argument("--output", default=str(pathlib.Path(__file__).resolve().parent.parent / "demo" / "sample.mjpeg"))
    args = parser.parse_args()
    out_w, out_h = (int(v) for v in args.size.split("x"))

    stream = bytearray()
    frames = 0
    for name, start, end in PHOTOS:
        photo = Image.fromarray(getattr(data, name)()).convert("RGB")
        for i in range(args.frames_per_photo):
            t = i / max(1, args.frames_per_photo - 1)
            t = t * t * (3 - 2 * t)  # ease in and out
            box = fit_aspect(lerp(start, end, t), photo.width, photo.height, out_w / out_h)
            frame = photo.resize((out_w, out_h), Image.BICUBIC, box=box)
            buf = io.BytesIO()
            frame.save(buf, format="JPEG", quality=args.quality, optimize=True)
            stream += buf.getvalue()
            frames += 1
    pathlib.Path(args.output).write_bytes(stream)
    print(f"{args.output}: {frames} frames {out_w}x{out_h}, {len(stream) // 1024} KiB")


if __name__ == "__main__":
    main()
