#!/usr/bin/python3
"""Writes the fixtures of package array (testdata/arrays/) with numpy, the reference reader/writer.

Run with Debian's numpy:  /usr/bin/python3 testdata/gen_arrays.py
expected.json records, for every array, its shape, dtype, order and values flattened in C order;
floats are written with float.hex() ("0x1.8p+1", "inf", "nan"), which Go's strconv.ParseFloat
reads exactly. The safetensors file is written by hand (struct + json), as the format is simple.
"""
import io
import json
import os
import struct
import zipfile

import numpy as np
from numpy.lib import format as npf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "arrays")
expected = {}


def values(arr):
    flat = np.asarray(arr).ravel(order="C")
    if flat.dtype.kind == "f":
        return [float(x).hex() for x in flat]
    return [int(x) for x in flat]


def entry(arr, dtype=None):
    return {
        "shape": list(arr.shape),
        "dtype": dtype or arr.dtype.name,
        "fortran": bool(arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous),
        "values": values(arr),
    }


def npy_bytes(arr, version=None):
    b = io.BytesIO()
    npf.write_array(b, arr, version=version, allow_pickle=False)
    return b.getvalue()


def save(name, arr, version=None):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(npy_bytes(arr, version))
    expected[name] = entry(arr)


def main():
    os.makedirs(OUT, exist_ok=True)
    base = (np.arange(12, dtype=np.float32) * 0.5 - 1).reshape(3, 4)
    save("f32_v1.npy", base, (1, 0))
    save("f32_v2.npy", base, (2, 0))
    save("f32_v3.npy", base, (3, 0))
    f16 = np.array([0, -0.0, 1, -2, 65504, 2.0**-24, 2.0**-14, 1023 * 2.0**-24, -(2.0**-24),
                    np.inf, -np.inf, np.nan, 0.1, 3.140625], dtype=np.float16)
    save("f16.npy", f16)
    save("f64.npy", (np.arange(6) / 3.0 - 0.7).reshape(2, 3))
    save("f4_be.npy", base.astype(">f4"))
    save("f8_be.npy", (np.arange(6) / 7.0 + 1e-300).reshape(2, 3).astype(">f8"))
    save("f2_be.npy", f16.astype(">f2"))
    save("i8_be.npy", np.array([-3, 2**40, -(2**62), 2**63 - 1], dtype=">i8"))
    save("i4_be.npy", np.array([-(2**31), 7, 2**31 - 1], dtype=">i4"))
    save("fortran_2d.npy", np.asfortranarray(base))
    save("fortran_3d.npy", np.asfortranarray((np.arange(24) * 1.5 - 4).reshape(2, 3, 4)))
    # A mask as np.save writes nibabel's volumes (get_fdata() is Fortran-ordered, and so is
    # get_fdata() > 0): stored first axis fastest, its targets numbered in C order
    # (np.flatnonzero(mask)) all the same.
    vol = np.arange(60).reshape(3, 4, 5)
    save("mask_fortran.npy", np.asfortranarray((vol * 7 % 11 < 4) & (vol != 59)))
    save("int8.npy", np.array([-128, -1, 0, 127], dtype=np.int8))
    save("int16.npy", np.array([[-32768, 5], [0, 32767]], dtype=np.int16))
    save("int32.npy", np.array([-(2**31), -5, 0, 2**31 - 1], dtype=np.int32))
    save("int64.npy", np.array([[-(2**63), -1], [2**53 + 1, 2**63 - 1]], dtype=np.int64))
    save("uint8.npy", np.array([0, 1, 255], dtype=np.uint8))
    save("uint16.npy", np.array([0, 65535], dtype=np.uint16))
    save("uint32.npy", np.array([0, 2**32 - 1], dtype=np.uint32))
    save("uint64.npy", np.array([0, 2**63 - 1], dtype=np.uint64))
    save("bool.npy", np.array([[True, False, True], [False, False, True]]))
    save("scalar.npy", np.array(3.25))
    save("vec.npy", np.array([1.5, -2, 0, 1e-45, 3.4e38], dtype=np.float32))
    save("cube.npy", (np.arange(24, dtype=np.float32) - 10).reshape(2, 3, 4))
    save("empty.npy", np.zeros((0, 3), dtype=np.float32))
    # Values above the int64 range: read as astype(np.float64) gives them, rounded to nearest
    # (ties to even: 2**63 + 1024 and 2**63 + 3072 lie halfway between float64s 2048 apart).
    big = np.array([[0, 1, 2**53 + 1], [2**63 - 1, 2**63, 2**63 + 1024],
                    [2**63 + 1025, 2**63 + 3072, 2**64 - 1]], dtype=np.uint64)
    for name, arr in (("uint64_big.npy", big), ("u8_be_big.npy", big.astype(">u8"))):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(npy_bytes(arr))
        expected[name] = entry(arr.astype(np.float64), dtype="uint64")
    # Unsupported dtypes: each must be a clear error.
    with open(os.path.join(OUT, "complex.npy"), "wb") as f:
        f.write(npy_bytes(np.array([1 + 2j])))
    with open(os.path.join(OUT, "strings.npy"), "wb") as f:
        f.write(npy_bytes(np.array(["ab", "c"])))

    # .npz written by numpy itself: stored (savez) and deflated (savez_compressed).
    a = (np.arange(6, dtype=np.float32) * 0.25).reshape(2, 3)
    b = np.array([10, -20, 30], dtype=np.int64)
    c = np.asfortranarray((np.arange(6) / 4.0).reshape(3, 2))
    np.savez(os.path.join(OUT, "bundle.npz"), layer0=a, layer1=b, layer2=c)
    np.savez_compressed(os.path.join(OUT, "compressed.npz"), layer0=a, layer1=b, layer2=c)
    for name in ("bundle.npz", "compressed.npz"):
        expected[name] = {"order": ["layer0", "layer1", "layer2"],
                          "members": {"layer0": entry(a), "layer1": entry(b), "layer2": entry(c)}}
    # One archive with stored and deflated members side by side.
    x = (np.arange(8, dtype=np.float32) - 3.5).reshape(2, 4)
    y = (np.arange(10) * 0.1).reshape(5, 2)
    z = np.array([1, 2, 3], dtype=np.int32)
    with zipfile.ZipFile(os.path.join(OUT, "mixed.npz"), "w") as zf:
        zf.writestr(zipfile.ZipInfo("x.npy", (1980, 1, 1, 0, 0, 0)), npy_bytes(x), zipfile.ZIP_STORED)
        zf.writestr(zipfile.ZipInfo("y.npy", (1980, 1, 1, 0, 0, 0)), npy_bytes(y), zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("z.npy", (1980, 1, 1, 0, 0, 0)), npy_bytes(z), zipfile.ZIP_DEFLATED)
    expected["mixed.npz"] = {"order": ["x", "y", "z"],
                             "members": {"x": entry(x), "y": entry(y), "z": entry(z)}}

    write_safetensors()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=0, sort_keys=True)
        f.write("\n")


def write_safetensors():
    bf16_bits = np.array([0x3F80, 0xC020, 0x4049, 0x0001, 0x7F80, 0xFF80, 0x7FC0, 0x8000, 0x7F7F],
                         dtype="<u2")
    bf16_vals = np.array([struct.unpack("<f", struct.pack("<I", int(v) << 16))[0] for v in bf16_bits],
                         dtype=np.float64).reshape(3, 3)
    half = np.array([1, -0.5, 2.0**-24, np.inf], dtype=np.float16)
    tensors = {  # name: (safetensors dtype, raw little-endian bytes, expected entry)
        "weight": ("F32", (np.arange(6, dtype="<f4") * 0.25).reshape(2, 3)),
        "bf": ("BF16", bf16_bits.reshape(3, 3)),
        "ids": ("I64", np.array([-1, 0, 2**62], dtype="<i8")),
        "half": ("F16", half.astype("<f2")),
        "mask": ("BOOL", np.array([True, False, True])),
        "double": ("F64", np.array([0.1, -1e-310], dtype="<f8")),
        "small": ("I32", np.array([[-7, 8], [9, -(2**31)]], dtype="<i4")),
        "bytes": ("U8", np.array([0, 17, 255, 3], dtype=np.uint8)),
    }
    # The data order differs from the (sorted) order of the JSON keys: readers must follow the
    # offsets. Tensors after the first are not all aligned.
    order = ["weight", "bf", "ids", "half", "mask", "double", "small", "bytes"]
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name in order:
        dt, arr = tensors[name]
        raw = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(os.path.join(OUT, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + data)
    ex = {name: entry(arr) for name, (dt, arr) in tensors.items()}
    ex["bf"] = entry(bf16_vals, "bfloat16")
    expected["model.safetensors"] = {"order": order, "tensors": ex}


if __name__ == "__main__":
    main()
