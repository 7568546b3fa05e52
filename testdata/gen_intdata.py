#!/usr/bin/python3
"""Writes integer arrays read as data (testdata/intdata/) with numpy, the reference.

Run with Debian's numpy:  /usr/bin/python3 testdata/gen_intdata.py
Brain data or activations saved as integers (NSD's betas are int16, the betas times 300) are read
as floats, as the NIfTI, MGH and HDF5 readers read integers: float32 for 8- and 16-bit integers,
float64 for wider ones. expected.json records, for every array (a .npy file, an .npz member, a
safetensors tensor), its shape, dtype, the float dtype it is read as ("as") and the values of
numpy's astype to that dtype flattened in C order, as float.hex() (which Go's strconv.ParseFloat
reads exactly), and the integers themselves ("ints", as labels are read).

brain_int16.npy (Fortran order, as nibabel's dataobj gives betas) and brain_as_float32.npy (its
astype(np.float32), C order) are the same brain data for an encode, with features.npy.
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "intdata")
SHAPE = (3, 4, 5)
rng = np.random.default_rng(20240611)
expected = {"arrays": {}, "values": {}}


def as_dtype(dt):
    return np.float32 if np.dtype(dt).itemsize <= 2 else np.float64


def values(dt):
    """SHAPE values of dt: random over its range, with its extremes and the values float32 or
    float64 round (2^24 + 1, 2^53 + 1)."""
    info = np.iinfo(dt)
    lo, hi = int(info.min), int(info.max)
    if dt == np.uint64:
        hi = 2**63 - 1  # above the int64 range, a uint64 array is read as float64 at once
    n = int(np.prod(SHAPE))
    v = [int(x) for x in rng.integers(lo, hi, size=n, dtype=np.int64 if hi < 2**63 else np.uint64, endpoint=True)]
    specials = [lo, hi, 0, 1, -1 if lo < 0 else 2, hi - 1]
    if hi >= 2**24 + 1:
        specials += [2**24 + 1, 2**31 - 1 if hi >= 2**31 - 1 else hi]
    if hi >= 2**53 + 1:
        specials += [2**53 + 1, 2**62 + 2**9 + 1]
    v[: len(specials)] = specials
    return np.array(v, dtype=dt).reshape(SHAPE)


def entry(arr, key):
    """The array's entry, its values recorded under key (the same values in every order)."""
    want = as_dtype(arr.dtype)
    c = np.ascontiguousarray(arr)
    vals = {
        "as": np.dtype(want).name,
        "floats": [float(x).hex() for x in c.astype(want).ravel(order="C")],
        "ints": [int(x) for x in c.ravel(order="C")],
    }
    assert expected["values"].setdefault(key, vals) == vals, key
    return {
        "shape": list(arr.shape),
        "dtype": arr.dtype.name,
        "fortran": bool(arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous),
        "values": key,
    }


def save(name, arr, key):
    np.save(os.path.join(OUT, name), arr, allow_pickle=False)
    expected["arrays"][name] = entry(arr, key)


def main():
    os.makedirs(OUT, exist_ok=True)
    members = {}
    tensors = []
    for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64):
        name = np.dtype(dt).name
        a = values(dt)
        save(name + "_c.npy", a, name)
        save(name + "_f.npy", np.asfortranarray(a), name)  # 3-d: rows x the other axes in C order
        save(name + "_f2.npy", np.asfortranarray(a.reshape(6, 10)), name)  # 2-d: column-major
        big = a.astype(np.dtype(dt).newbyteorder(">"))
        save(name + "_be.npy", big, name)
        save(name + "_f_be.npy", np.asfortranarray(big), name)
        members[name] = a
        tensors.append((name, a))
    # np.savez does not align its members (copied at read); savez_compressed deflates them.
    np.savez(os.path.join(OUT, "stored.npz"), **members)
    np.savez_compressed(os.path.join(OUT, "deflated.npz"), **members)
    for bundle in ("stored.npz", "deflated.npz"):
        for k, v in members.items():
            expected["arrays"][bundle + ":" + k] = entry(v, k)
    write_safetensors(tensors)

    # Brain data: features with a planted linear signal, the responses as NSD stores betas.
    n, d, t = 60, 8, 7
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = x.astype(np.float64) @ rng.standard_normal((d, t)) + 2 * rng.standard_normal((n, t))
    y16 = np.round(y * 300).astype(np.int16)
    np.save(os.path.join(OUT, "features.npy"), x)
    np.save(os.path.join(OUT, "brain_int16.npy"), np.asfortranarray(y16))
    np.save(os.path.join(OUT, "brain_as_float32.npy"), y16.astype(np.float32))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=0, sort_keys=True)
        f.write("\n")


ST_DTYPES = {"int8": "I8", "uint8": "U8", "int16": "I16", "uint16": "U16", "int32": "I32",
             "uint32": "U32", "int64": "I64", "uint64": "U64"}


def write_safetensors(tensors):
    """The tensors back to back, little-endian and C order (tensors after the first unaligned
    for their dtype where a 1-byte one precedes them: an odd-length int8 tensor first)."""
    header, data = {"__metadata__": {"format": "pt"}}, b""
    odd = np.array([1, -2, 3], dtype=np.int8)
    for name, arr in [("odd", odd)] + tensors:
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_DTYPES[arr.dtype.name], "shape": list(arr.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
        expected["arrays"]["ints.safetensors:" + name] = entry(arr, name)
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(os.path.join(OUT, "ints.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + data)


if __name__ == "__main__":
    main()
