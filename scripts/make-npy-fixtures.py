#!/usr/bin/env python3
"""Writes the .npy files the NPY reader is tested against, with NumPy itself (Tests/Fixtures/npy).

Each file's expected content is stated in Tests/NPYTests/NPYArrayTests.swift from the recipe
below (e.g. arange), never from what EdgeCAM reads. Run: python3 scripts/make-npy-fixtures.py
"""
import os
import numpy as np
from numpy.lib import format as npformat

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "npy")
os.makedirs(out, exist_ok=True)

def save(name, array, version=None):
    with open(os.path.join(out, name), "wb") as f:
        if version is None:
            np.save(f, array)
        else:
            npformat.write_array(f, array, version=version)

save("int8_2x3.npy", np.arange(-3, 3, dtype=np.int8).reshape(2, 3))            # [-3..2]
save("uint8_4.npy", np.array([0, 1, 254, 255], dtype=np.uint8))
save("float32_2x2_v2.npy", np.array([[0.5, -1.25], [3.0, 1e-3]], dtype=np.float32), version=(2, 0))
save("int32_scalar.npy", np.array(-7, dtype=np.int32))
save("float32_empty.npy", np.zeros((0, 3), dtype=np.float32))
save("float32_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
save("float32_bigendian.npy", np.arange(3, dtype=">f4"))
save("float64.npy", np.arange(3, dtype=np.float64))
with open(os.path.join(out, "int8_2x3.npy"), "rb") as f:
    whole = f.read()
with open(os.path.join(out, "truncated.npy"), "wb") as f:
    f.write(whole[:-2])
