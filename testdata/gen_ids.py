#!/usr/bin/python3
"""Writes stimulus ids as researchers save them with numpy (testdata/ids/), for --features-ids,
--brain-ids, --test-ids and ceiling --ids given a .npy file.

Run with Debian's numpy:  /usr/bin/python3 testdata/gen_ids.py
expected.json maps each readable file to its ids as numpy gives them back (np.load, then str of
each element: bytes decoded as UTF-8, integers in decimal), the reference the readers are
tested against. Read:
  names_U.npy       np.array(NAMES): '<U', non-ASCII names and one with trailing spaces
  names_S.npy       the names encoded as UTF-8, np.array(..., dtype="S"): '|S'
  names_be.npy      the names as big-endian UTF-32, '>U'
  nsd.npy           int64 NSD-like 0-based image indices (np.save of an index array)
  uint16.npy        uint16 indices, up to 65535
  int8.npy          int8, negative values included
  uint64.npy        uint64 beyond the int64 range
  be_i4_row.npy     '>i4', a 1 x n row vector
  names_col.npy     the names as an n x 1 column ('<U'; df[["name"]].to_numpy().astype(str))
  blank.npy         '<U' whose second id is spaces (read; brainalign refuses the empty id)
  linebreak.npy     '<U' whose second id holds a line break (read; brainalign refuses it)
Refused:
  float64.npy       float64 indices
  bool.npy          bool
  complex.npy       complex128
  object.npy        np.array(NAMES, dtype=object) saved with allow_pickle=True ('|O')
  structured.npy    a record array of (name, index)
  matrix.npy        a 2 x 3 array of int64
  invalid_utf8.npy  '|S' whose second element is Latin-1 b"caf\\xe9", not UTF-8
  truncated.npy     names_U.npy cut 5 bytes short of its data
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ids")
NAMES = ["shared0001_nsd02951.png", "café_01.jpg", "img_03.png  ", "Ωmega/ß.jpg", "n01440764_10026.JPEG", "x"]
NSD = np.array([2950, 0, 72999, 46002, 829, 16020, 61882], np.int64)


def main():
    os.makedirs(OUT, exist_ok=True)
    read = {
        "names_U.npy": np.array(NAMES),
        "names_S.npy": np.array([n.encode("utf-8") for n in NAMES], dtype="S"),
        "names_be.npy": np.array(NAMES).astype(">U25"),
        "nsd.npy": NSD,
        "uint16.npy": np.array([7, 65535, 0, 300], np.uint16),
        "int8.npy": np.array([-128, -1, 0, 127], np.int8),
        "uint64.npy": np.array([0, 2**63, 2**64 - 1, 12], np.uint64),
        "be_i4_row.npy": np.array([[12, -3, 2147483647, 40000]], dtype=">i4"),
        "names_col.npy": np.array(NAMES).reshape(-1, 1),
        "blank.npy": np.array(["a", "   ", "b"]),
        "linebreak.npy": np.array(["a", "b\nc"]),
    }
    expected = {}
    for name, a in read.items():
        path = os.path.join(OUT, name)
        np.save(path, a)
        back = np.load(path).reshape(-1)
        expected[name] = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in back.tolist()]
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")

    np.save(os.path.join(OUT, "float64.npy"), NSD.astype(np.float64))
    np.save(os.path.join(OUT, "bool.npy"), np.array([True, False]))
    np.save(os.path.join(OUT, "complex.npy"), NSD.astype(np.complex128))
    np.save(os.path.join(OUT, "object.npy"), np.array(NAMES, dtype=object), allow_pickle=True)
    rec = np.array(list(zip(NAMES, range(len(NAMES)))), dtype=[("name", "U25"), ("index", "i8")])
    np.save(os.path.join(OUT, "structured.npy"), rec)
    np.save(os.path.join(OUT, "matrix.npy"), np.arange(6, dtype=np.int64).reshape(2, 3))
    np.save(os.path.join(OUT, "invalid_utf8.npy"), np.array([b"ok", b"caf\xe9", b"z"], dtype="S"))
    with open(os.path.join(OUT, "names_U.npy"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated.npy"), "wb") as f:
        f.write(whole[:-5])


main()
