#!/usr/bin/env python3
"""Regenerates the Capture test fixtures (needs scikit-image and Pillow).

jpeg/frame0N.jpg  five 160x120 JPEGs cut from scikit-image's `chelsea` (CC0): the fake camera
                  serves them as MJPEG frames and the replay tests read them as a directory.
clip.mjpeg        the same five frames concatenated as an MJPEG stream, with garbage bytes
                  before, between and after frames, the second frame carrying an APP1 segment
                  that embeds a complete SOI..EOI thumbnail (splitters must not cut inside it),
                  and a truncated sixth frame at the end.
clip-frames/      the five frames the clip must split into, byte for byte.
"""
import io
import pathlib
import struct

from PIL import Image
from skimage import data

here = pathlib.Path(__file__).resolve().parent
photo = Image.fromarray(data.chelsea())  # 451x300
frames = []
for i in range(5):
    box = (20 + 40 * i, 10 + 10 * i, 20 + 40 * i + 240, 10 + 10 * i + 180)
    img = photo.crop(box).resize((160, 120), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    frames.append(buf.getvalue())

(here / "jpeg").mkdir(exist_ok=True)
(here / "clip-frames").mkdir(exist_ok=True)
for i, f in enumerate(frames):
    (here / "jpeg" / f"frame{i:02d}.jpg").write_bytes(f)

# Frame 1 gets an APP1 segment holding a whole thumbnail JPEG (as EXIF thumbnails do).
thumb = io.BytesIO()
photo.resize((16, 12)).save(thumb, format="JPEG", quality=50)
payload = b"Exif\x00\x00" + thumb.getvalue()
app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
framed = list(frames)
framed[1] = frames[1][:2] + app1 + frames[1][2:]
for i, f in enumerate(framed):
    (here / "clip-frames" / f"frame{i:02d}.jpg").write_bytes(f)

stream = b"garbage\xff\x00\xff"
for i, f in enumerate(framed):
    stream += f
    if i % 2 == 0:
        stream += b"\x00\x00\xffjunk between frames\xff"
stream += frames[2][: len(frames[2]) // 2]  # truncated tail: no EOI
(here / "clip.mjpeg").write_bytes(stream)
