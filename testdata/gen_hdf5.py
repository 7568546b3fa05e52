#!/usr/bin/python3
"""Write small HDF5 files with h5py and NumPy's reading of them into testdata/hdf5/.

Run with Debian's interpreter, which has h5py (python3-h5py) and NumPy:

    /usr/bin/python3 testdata/gen_hdf5.py

default.h5 and latest.h5 hold the same datasets, written with h5py's default format (libver
'earliest': superblock 0, version-1 object headers, groups as symbol tables, chunks indexed by a
version-1 B-tree) and with libver='latest' (superblock 3, version-2 object headers, links in the
header or, for a group of many, in a fractal heap indexed by a version-2 B-tree, and the newer
chunk indexes: single chunk, fixed array, extensible array for one unlimited axis, version-2
B-tree for several). They cover every dtype read (float16/32/64, int8-64, uint8/16, big-endian),
ranks 0 to 4, contiguous, compact and chunked layouts (partial edge chunks, chunks never written,
a fill value, chunk indexes of several levels, a paged fixed array, an implicit index),
gzip+shuffle, fletcher32, nested groups, a group of many links, soft and external links, an
empty dataset, and datasets that must be refused (lzf, strings, a compound type, bools). one.hdf5 holds one dataset (no name needed),
matlab.mat is a MATLAB v7.3-style file (a 512-byte header, then HDF5), and study_X.h5 /
study_Y.hdf5 are an encoding study whose .npy twins (study_X.npy, study_Y.npy) hold the same
values. expected.json records, per file and dataset, the shape, the stored dtype and NumPy's
values (flattened in C order; floats as float.hex()), under "bad" the datasets that must be
refused with a word their error must contain, and under "links" the soft and external links
(listed as not arrays). targets_*.h5, targets_matlab_*.mat and targets.json are for reading some
targets only, targets_session.* for the command-line tests of it (see there). Each run rewrites
every file: the HDF5 files differ in their timestamps only.
"""

import json
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hdf5")
rng = np.random.default_rng(20260707)
expected = {}


def values(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return [float(v).hex() for v in a.astype(np.float64).ravel()]
    return [int(v) for v in a.ravel()]


def record(fname, f, bad=None):
    """Read every dataset of the file back with h5py and record it."""
    path = f.filename
    f.close()
    ent = {"datasets": {}, "bad": bad or {}, "links": []}
    with h5py.File(path, "r") as g:
        def links(name, grp):
            for k in grp:
                link = grp.get(k, getlink=True)
                if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                    ent["links"].append((name + "/" + k).lstrip("/"))
                elif isinstance(link, h5py.HardLink) and isinstance(grp[k], h5py.Group):
                    links(name + "/" + k, grp[k])

        links("", g)

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name not in ent["bad"] and name not in ent["links"]:
                a = obj[()]
                ent["datasets"][name] = {"shape": list(obj.shape), "dtype": obj.dtype.newbyteorder("=").name,
                                         "values": values(a)}
        g.visititems(visit)
    expected[fname] = ent


def floats(shape, dt):
    return (rng.normal(size=shape) * 10).astype(dt)


def ints(shape, dt):
    info = np.iinfo(dt)
    return rng.integers(max(info.min, -30000), min(info.max, 60000), size=shape, endpoint=True).astype(dt)


def compact(f, name, data):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(data.shape)
    tid = h5py.h5t.py_create(data.dtype)
    ds = h5py.h5d.create(f.id, name.encode(), tid, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data))


def common(f, latest):
    f["f16"] = floats((3, 5), np.float16)
    f["f32"] = floats((4, 6), np.float32)
    f["f64"] = floats((7,), np.float64)
    f["f32_be"] = floats((2, 3, 4), ">f4")
    f["f64_be"] = floats((3, 2), ">f8")
    f["i8"] = ints((5, 3), np.int8)
    f["i16"] = ints((4, 5), np.int16)
    f["i16_be"] = ints((3, 4), ">i2")
    f["i32"] = ints((2, 3, 2), np.int32)
    f["i64"] = ints((6,), np.int64)
    f["u8"] = ints((4, 4), np.uint8)
    f["u16"] = ints((2, 7), np.uint16)
    f["d4"] = floats((2, 3, 2, 3), np.float32)
    f["scalar"] = np.float64(2.5)
    f["empty"] = np.zeros((0, 5), np.float32)
    f.create_dataset("unwritten", shape=(3, 4), dtype=np.float32)  # never written: fill value 0
    compact(f, "compact", floats((3, 4), np.float32))
    compact(f, "compact_i16", ints((5,), np.int16))
    # chunked: partial edge chunks on every axis
    f.create_dataset("chunked", data=floats((10, 7), np.float32), chunks=(3, 4))
    f.create_dataset("chunked3", data=floats((5, 6, 7), np.float64), chunks=(2, 4, 3))
    f.create_dataset("gzip", data=floats((9, 11), np.float32), chunks=(4, 5), compression="gzip", shuffle=True)
    f.create_dataset("gzip_i16", data=ints((12, 5), np.int16), chunks=(5, 5), compression="gzip", compression_opts=9)
    f.create_dataset("fletcher", data=floats((8, 3), np.float64), chunks=(3, 3), fletcher32=True, shuffle=True,
                     compression="gzip")
    f.create_dataset("one_chunk", data=floats((4, 5), np.float32), chunks=(4, 5), compression="gzip")
    # some chunks never written: they read as the fill value
    d = f.create_dataset("sparse", shape=(6, 6), dtype=np.int32, chunks=(2, 2), fillvalue=7)
    d[0:2, 2:4] = ints((2, 2), np.int32)
    d[5, 5] = -3
    # unlimited axes: extensible array (one) and version-2 B-tree (two) under libver='latest'
    d = f.create_dataset("grow1", shape=(5, 4), maxshape=(None, 4), dtype=np.float32, chunks=(2, 4))
    d[...] = floats((5, 4), np.float32)
    d.resize((7, 4))
    d[5:] = floats((2, 4), np.float32)
    d = f.create_dataset("grow2", shape=(5, 6), maxshape=(None, None), dtype=np.float64, chunks=(2, 4),
                         compression="gzip")
    d[...] = floats((5, 6), np.float64)
    # many chunks: a B-tree of several levels; an extensible array's data and super blocks
    d = f.create_dataset("grow_many", shape=(0, 2), maxshape=(None, 2), dtype=np.int16, chunks=(1, 2))
    d.resize((300, 2))
    d[...] = ints((300, 2), np.int16)
    if latest:
        # a fixed array of 1100 chunks: paged (1024 elements a page)
        f.create_dataset("paged", data=ints((1100,), np.int8), chunks=(1,))
        # chunks allocated early, without filters: the implicit index
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((2, 3))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        data = floats((5, 7), np.float32)
        ds = h5py.h5d.create(f.id, b"early", h5py.h5t.py_create(data.dtype), h5py.h5s.create_simple(data.shape), dcpl=dcpl)
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
        # 120 chunks over two unlimited axes: a version-2 B-tree of two levels
        d = f.create_dataset("grow2_many", shape=(12, 10), maxshape=(None, None), dtype=np.float32, chunks=(1, 1))
        d[...] = floats((12, 10), np.float32)
        # 100 soft links: dense link storage whose name index has two levels
        for i in range(100):
            f[f"links/to{i:03d}"] = h5py.SoftLink("/f32")
    g = f.create_group("group")
    g["a"] = floats((3, 2), np.float32)
    s = g.create_group("sub")
    s.create_dataset("data", data=floats((4, 3), np.float32), chunks=(2, 2), compression="gzip")
    many = f.create_group("many")
    for i in range(20):
        many[f"layer{i:02d}"] = floats((2, 3), np.float32) + i
    f["group/soft"] = h5py.SoftLink("/f64")
    f["ext/external"] = h5py.ExternalLink("other.h5", "/data")  # makes the group new-style
    f["ext/data"] = floats((2, 2), np.float32)
    # refused
    f.create_dataset("lzf", data=floats((6, 4), np.float32), chunks=(3, 4), compression="lzf")
    f["text"] = np.array([b"a", b"bc"])
    f["record"] = np.zeros(3, dtype=[("x", "<f4"), ("y", "<i4")])
    f["flags"] = np.array([True, False, True])


bad = {"lzf": "lzf", "text": "string", "record": "compound", "flags": "enum"}

os.makedirs(OUT, exist_ok=True)
for fname, libver in [("default.h5", "earliest"), ("latest.h5", "latest")]:
    f = h5py.File(os.path.join(OUT, fname), "w", libver=libver, track_order=False)
    common(f, libver == "latest")
    record(fname, f, dict(bad))

f = h5py.File(os.path.join(OUT, "one.hdf5"), "w")
f.create_dataset("betas", data=ints((6, 10), np.int16), chunks=(2, 10), compression="gzip")
record("one.hdf5", f)

# MATLAB v7.3: a 512-byte user block with MATLAB's text header; MATLAB stores an n x m matrix as an
# m x n dataset (column-major), with a MATLAB_class attribute.
path = os.path.join(OUT, "matlab.mat")
f = h5py.File(path, "w", userblock_size=512)
d = f.create_dataset("X", data=floats((3, 4), np.float64))  # MATLAB's size(X) is 4 x 3
d.attrs["MATLAB_class"] = np.bytes_("double")
record("matlab.mat", f)
with open(path, "r+b") as fh:
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    fh.write(head.ljust(116) + b"\0" * 8 + b"\x00\x02IM")

# An encoding study: activations (float32) and betas (int16, as NSD's) with a planted signal.
n, d, m = 60, 8, 5
x = rng.normal(size=(n, d)).astype(np.float32)
y = np.round((x @ rng.normal(size=(d, m)) + 2 * rng.normal(size=(n, m))) * 300).astype(np.int16)
np.save(os.path.join(OUT, "study_X.npy"), x)
np.save(os.path.join(OUT, "study_Y.npy"), y.astype(np.float32))
with h5py.File(os.path.join(OUT, "study_X.h5"), "w") as f:
    f["features"] = x  # one dataset: no --layer needed
with h5py.File(os.path.join(OUT, "study_Y.hdf5"), "w", libver="latest") as f:
    f.create_dataset("betas", data=y, chunks=(16, m), compression="gzip", shuffle=True)
    f["ids"] = np.arange(n)

# A model's checkpoints as HDF5 bundles of one dataset per layer (sweep --features model/):
# layers at group paths, listed out of depth order; the first layer's twin as .npy.
os.makedirs(os.path.join(OUT, "model"), exist_ok=True)
for step in (100, 200):
    with h5py.File(os.path.join(OUT, "model", f"ckpt-{step}.h5"), "w", track_order=False) as f:
        for l in (10, 2, 1):
            a = rng.normal(size=(n, 4)).astype(np.float32)
            f.create_dataset(f"blocks/{l}/out", data=a, track_times=False)
            if step == 100 and l == 1:
                np.save(os.path.join(OUT, "model_ckpt-100_blocks.1.out.npy"), a)

# Files the reader once got wrong, both libvers: creation order tracked (a 2-byte field in every
# message of a version-2 header).
for lv in ("earliest", "latest"):
    f = h5py.File(os.path.join(OUT, f"trackorder_{lv}.h5"), "w", libver=lv, track_order=True)
    f["b"] = floats((3, 4), np.float32)
    f["a"] = floats((5,), np.float32)
    f.create_dataset("c", data=floats((10, 7), np.float32), chunks=(3, 4), compression="gzip")
    g = f.create_group("g", track_order=True)
    for i in range(12):
        g[f"m{i:02d}"] = floats((2,), np.float32)
    f["b"].attrs["u"] = 1
    record(f"trackorder_{lv}.h5", f)

# Chunked datasets with no chunk written, every chunk index of both libvers: the index address is
# undefined, and the data are all the fill value.
for lv in ("earliest", "latest"):
    f = h5py.File(os.path.join(OUT, f"unwritten_{lv}.h5"), "w", libver=lv)
    f.create_dataset("fixed", shape=(5, 5), dtype=np.float32, chunks=(2, 2), fillvalue=np.float32(-1.5))
    f.create_dataset("fixed_gzip", shape=(5, 5), dtype=np.float32, chunks=(2, 2), compression="gzip")
    f.create_dataset("one_chunk", shape=(5, 5), dtype=np.float32, chunks=(5, 5), compression="gzip")
    f.create_dataset("grow1", shape=(5, 5), maxshape=(None, 5), dtype=np.float32, chunks=(2, 2),
                     fillvalue=np.float32(2))
    f.create_dataset("grow1_gzip", shape=(5, 5), maxshape=(None, 5), dtype=np.int16, chunks=(2, 2),
                     compression="gzip", fillvalue=3)
    f.create_dataset("grow2", shape=(5, 5), maxshape=(None, None), dtype=np.float64, chunks=(2, 2))
    f.create_dataset("grow2_gzip", shape=(5, 5), maxshape=(None, None), dtype=np.float32, chunks=(2, 2),
                     compression="gzip", fillvalue=np.float32(-7))
    f["ok"] = floats((2,), np.float32)
    record(f"unwritten_{lv}.h5", f)

# A dataset never written larger than a file of its size could hold decompressed: 16 MB of its
# fill value (not recorded: 4M values).
with h5py.File(os.path.join(OUT, "unwritten_large.h5"), "w") as f:
    f.create_dataset("large", shape=(2000, 2000), dtype=np.float32, chunks=(100, 100), fillvalue=np.float32(0.5))
    f.create_dataset("large_contiguous", shape=(2000, 2000), dtype=np.int16, fillvalue=-2)

# A dense group (libver='latest', more than 8 links) with a link name of 5000 bytes: a "huge"
# fractal heap object, stored apart (not recorded: checked by name in hdf5_test.go).
with h5py.File(os.path.join(OUT, "longname.h5"), "w", libver="latest") as f:
    g = f.create_group("dense")
    for i in range(10):
        g[f"d{i}"] = np.full((2,), i, np.float32)
    g["L" * 5000] = np.full((2,), 10, np.float32)

# MATLAB v7.3 classes, as MATLAB writes them (attribute messages of versions 1 and 3): numbers of
# class double and int16; empty arrays, whose datasets hold their dimensions (MATLAB_empty: zeros(0, 3)
# and zeros(2, 0, 'int16')); a char array (UTF-16 code units) and a logical one, refused (not
# recorded: checked in hdf5_test.go).
for fname, lv in [("matlab_classes.mat", "earliest"), ("matlab_classes_latest.mat", "latest")]:
    path = os.path.join(OUT, fname)
    with h5py.File(path, "w", userblock_size=512, libver=lv) as f:
        def mat(name, data, cls, empty=False):
            d = f.create_dataset(name, data=data)
            d.attrs["MATLAB_class"] = np.bytes_(cls)
            if empty:
                d.attrs["MATLAB_empty"] = np.uint8(1)
        mat("X", np.arange(6, dtype=np.float64).reshape(3, 2), "double")  # MATLAB's 2 x 3
        mat("I", np.arange(4, dtype=np.int16).reshape(2, 2), "int16")
        mat("E", np.array([0, 3], np.uint64), "double", empty=True)
        mat("Ei", np.array([2, 0], np.uint64), "int16", empty=True)
        mat("S", np.frombuffer("hello".encode("utf-16-le"), np.uint16).reshape(5, 1), "char")
        mat("L", np.array([[1, 0, 1]], np.uint8), "logical")
    with open(path, "r+b") as fh:
        head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
        fh.write(head.ljust(116) + b"\0" * 8 + b"\x00\x02IM")

# Reading some targets only (ReadTargets, --brain-mask): datasets of rows x a small volume whose
# chunks split the targets in several ways (NSD's one voxel a chunk, blocks with partial edge
# chunks on every axis, whole rows, one chunk), compressed or not, shuffled, fletcher32, chunks
# never written, contiguous and compact data, both libvers; targets.json records, per file and
# dataset, NumPy's f[name][:].reshape(n, -1)[:, cols] for masks of several kinds (all the targets:
# checked against the whole dataset's read). Values are
# small multiples of 1/64, so that JSON holds them exactly and briefly. Its own generator: the
# files above are unchanged.
trng = np.random.default_rng(20260801)


def tvals(shape, dt):
    dt = np.dtype(dt)
    if dt.kind == "f":
        return (trng.integers(-2000, 2000, size=shape) / 64).astype(dt)
    return ints_t(shape, dt)


def ints_t(shape, dt):
    info = np.iinfo(dt)
    return trng.integers(max(info.min, -30000), min(info.max, 30000), size=shape, endpoint=True).astype(dt)


def tmasks(rows, vol, rng=None):
    """Masks over the targets of a volume vol: flat column lists, ascending."""
    rng = rng or trng
    total = int(np.prod(vol))
    m = {"sparse": np.flatnonzero(rng.random(total) < 0.15), "one_last": [total - 1]}
    if len(vol) == 3:
        b = np.zeros(vol, bool)
        b[1:3, 2:4, :] = True  # a region: whole rows of the last axis, some chunks of the others
        m["block"] = np.flatnonzero(b)
        m["corner"] = np.flatnonzero(np.pad(np.ones((1, 1, 2), bool), [(0, vol[0] - 1), (0, vol[1] - 1), (0, vol[2] - 2)]))
    return {k: [int(c) for c in v] for k, v in m.items()}


def trecord(path, matlab=False, rng=None):
    ent = {}
    with h5py.File(path, "r") as g:
        for name, d in g.items():
            a = d[()]
            if matlab:
                a = a.T  # MATLAB's array: the dataset's axes reversed
            flat = a.reshape(a.shape[0], -1)
            masks = tmasks(a.shape[0], a.shape[1:], rng)
            ent[name] = {"shape": list(a.shape), "dtype": d.dtype.newbyteorder("=").name,
                         "chunks": list(d.chunks) if d.chunks else None,
                         "masks": {k: {"cols": c, "values": [v.item() for v in flat[:, c].ravel().astype(
                             np.float64 if a.dtype.kind == "f" else np.int64)]} for k, c in masks.items()}}
    return ent


targets = {}
for lv in ("earliest", "latest"):
    fname = f"targets_{lv}.h5"
    path = os.path.join(OUT, fname)
    with h5py.File(path, "w", libver=lv) as f:
        vol = (6, 3, 4, 5)
        f.create_dataset("voxel", data=tvals(vol, np.int16), chunks=(6, 1, 1, 1))  # NSD's
        f.create_dataset("voxel_gzip", data=tvals(vol, np.int16), chunks=(6, 1, 1, 1), compression="gzip", shuffle=True)
        f.create_dataset("split", data=tvals(vol, np.float32), chunks=(4, 2, 3, 2), compression="gzip")  # edges on every axis
        f.create_dataset("split_shuffle", data=tvals(vol, ">i2"), chunks=(2, 1, 3, 4), shuffle=True)
        f.create_dataset("trial", data=tvals(vol, np.float64), chunks=(1, 3, 4, 5), fletcher32=True)
        f.create_dataset("single", data=tvals(vol, np.float32), chunks=vol, compression="gzip")
        d = f.create_dataset("sparse", shape=vol, dtype=np.int32, chunks=(4, 2, 2, 5), fillvalue=5)
        d[:, 0:2, 0:2, :] = ints_t((6, 2, 2, 5), np.int32)  # the other chunks never written
        d[5, 2, 3, 4] = -9
        f["contiguous"] = tvals(vol, np.int16)
        f["contiguous_be"] = tvals(vol, ">f4")
        f["contiguous_f64"] = tvals((6, 30), np.float64)
        compact(f, "compact", tvals((6, 3, 4), np.float32))
        f.create_dataset("flat_f16", data=tvals((6, 30), np.float16), chunks=(4, 7))
        d = f.create_dataset("grow", shape=(4,) + vol[1:], maxshape=(None,) + vol[1:], dtype=np.float32, chunks=(2, 1, 3, 5))
        d[...] = tvals(d.shape, np.float32)
        d.resize(vol)
        d[4:] = tvals((2,) + vol[1:], np.float32)
        d = f.create_dataset("grow2", shape=(6, 30), maxshape=(None, None), dtype=np.int16, chunks=(4, 7), compression="gzip")
        d[...] = tvals((6, 30), np.int16)
        f.create_dataset("unwritten", shape=vol, dtype=np.int16, chunks=(6, 2, 2, 2), fillvalue=-4)
    targets[fname] = trecord(path)

# A session for the command-line tests: 40 trials of a 4 x 5 x 6 volume, int16, NSD's chunks;
# targets_session.json says where the chunks of voxels (0, 0, 0) and (3, 4, 5) are stored, for
# tests that damage them.
with h5py.File(os.path.join(OUT, "targets_session.hdf5"), "w") as f:
    d = f.create_dataset("betas", data=ints_t((40, 4, 5, 6), np.int16) // 20, chunks=(40, 1, 1, 1), compression="gzip", shuffle=True)
    where = {}
    for v in [(0, 0, 0), (3, 4, 5)]:
        info = d.id.get_chunk_info_by_coord((0,) + v)
        where["chunk_%d%d%d" % v] = {"offset": info.byte_offset, "size": info.size}
with open(os.path.join(OUT, "targets_session.json"), "w") as fh:
    json.dump(where, fh, sort_keys=True)
    fh.write("\n")

# Reading some targets of MATLAB v7.3 files (ReadTargets of a .mat: --brain-mask over MATLAB's
# trials x voxels): MATLAB stores its n x a x b array as a b x a x n dataset, so that a target's n
# values are one after another. Arrays of 2, 3 and 4 axes (the dataset's written reversed, with
# MATLAB_class), chunked every way (one target a chunk, blocks with edge chunks on every axis,
# several rows' chunks, one chunk), compressed or not, shuffled, fletcher32, chunks never written,
# contiguous (either byte order) and compact; both libvers (latest: fixed arrays, and extensible
# arrays and version-2 B-trees for arrays grown); a B-tree of two levels, its chunks written in
# random order (nodes split as HDF5 splits them), and datasets grown and shrunk. targets.json
# records NumPy's f[name][()].T.reshape(n, -1)[:, cols], over MATLAB's shape. Its own generator
# (mrng): the files above are unchanged.
mrng = np.random.default_rng(20261207)


def mvals(shape, dt):
    dt = np.dtype(dt)
    if dt.kind == "f":
        return (mrng.integers(-2000, 2000, size=shape) / 64).astype(dt)
    info = np.iinfo(dt)
    return mrng.integers(max(info.min, -30000), min(info.max, 30000), size=shape, endpoint=True).astype(dt)


MAT_CLASS = {"f8": "double", "f4": "single", "i2": "int16", "i4": "int32", "u1": "uint8"}


def matlab_header(path):
    with open(path, "r+b") as fh:
        head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
        fh.write(head.ljust(116) + b"\0" * 8 + b"\x00\x02IM")


for lv in ("earliest", "latest"):
    fname = f"targets_matlab_{lv}.mat"
    path = os.path.join(OUT, fname)
    with h5py.File(path, "w", libver=lv, userblock_size=512) as f:
        def mat(name, mshape, dt, cls=None, **kw):
            """A MATLAB array of MATLAB's shape mshape (trials first): its dataset reversed."""
            d = f.create_dataset(name, data=mvals(mshape, dt).T, **kw)
            d.attrs["MATLAB_class"] = np.bytes_(cls or MAT_CLASS[np.dtype(dt).str[1:]])
            return d
        v4 = (6, 3, 4, 5)  # MATLAB's 6 trials x 3 x 4 x 5: a dataset of 5 x 4 x 3 x 6
        mat("m2_contiguous", (6, 30), np.float64)
        mat("m2_target", (6, 30), np.int16, chunks=(1, 6))  # one target a chunk
        mat("m2_split", (7, 30), np.float32, chunks=(4, 3), compression="gzip")  # edges on both axes
        mat("m3_split", (6, 4, 5), np.int32, chunks=(2, 3, 4), shuffle=True)
        mat("m3_contiguous_be", (6, 4, 5), ">f4")
        mat("voxel", v4, np.int16, chunks=(1, 1, 1, 6))  # NSD's chunks, as MATLAB orders them
        mat("voxel_gzip", v4, np.int16, chunks=(1, 1, 1, 6), compression="gzip", shuffle=True)
        mat("split", v4, np.float32, chunks=(2, 3, 2, 4), compression="gzip")  # edges on every axis
        mat("split_fletcher", v4, np.float64, chunks=(3, 1, 3, 2), fletcher32=True)
        mat("single", v4, np.float32, chunks=(5, 4, 3, 6), compression="gzip")
        mat("logical", v4, np.uint8, "logical", chunks=(2, 2, 3, 3))
        mat("contiguous", v4, np.int16)
        d = f.create_dataset("sparse", shape=(5, 4, 3, 6), dtype=np.float32, chunks=(2, 2, 3, 6), fillvalue=np.float32(5))
        d[0:2, 0:2] = mvals((2, 2, 3, 6), np.float32)  # the other chunks never written
        d[4, 3, 2, 5] = -9
        d.attrs["MATLAB_class"] = np.bytes_("single")
        compact(f, "compact", mvals((6, 4, 3), np.float32).T)
        f["compact"].attrs["MATLAB_class"] = np.bytes_("single")
        # 40 x 30 targets of 6 trials, one a chunk: 1,200 chunks, a B-tree of two levels in the
        # default format, its chunks written in random order
        d = f.create_dataset("deep", shape=(40, 30, 6), dtype=np.int16, chunks=(1, 1, 6))
        data = mvals((40, 30, 6), np.int16)
        for k in mrng.permutation(40 * 30):
            d[k // 30, k % 30] = data[k // 30, k % 30]
        d.attrs["MATLAB_class"] = np.bytes_("int16")
        # grown along its first axis (MATLAB's last), and along two (libver latest: an extensible
        # array and a version-2 B-tree), and shrunk
        d = f.create_dataset("grow", shape=(2, 4, 3, 6), maxshape=(None, 4, 3, 6), dtype=np.float32, chunks=(1, 3, 2, 6))
        d[...] = mvals(d.shape, np.float32)
        d.resize((5, 4, 3, 6))
        d[2:] = mvals((3, 4, 3, 6), np.float32)
        d.attrs["MATLAB_class"] = np.bytes_("single")
        d = f.create_dataset("grow2", shape=(3, 4, 6), maxshape=(None, None, 6), dtype=np.int16, chunks=(2, 3, 4), compression="gzip")
        d[...] = mvals(d.shape, np.int16)
        d.resize((5, 7, 6))
        d[:, 4:] = mvals((5, 3, 6), np.int16)
        d[3:, :4] = mvals((2, 4, 6), np.int16)
        d.attrs["MATLAB_class"] = np.bytes_("int16")
        d = f.create_dataset("shrunk", shape=(9, 8, 6), maxshape=(None, None, None), dtype=np.float64, chunks=(2, 3, 4))
        d[...] = mvals(d.shape, np.float64)
        d.resize((5, 7, 5))
        d.attrs["MATLAB_class"] = np.bytes_("double")
    matlab_header(path)
    targets[fname] = trecord(path, matlab=True, rng=mrng)

# The session above as MATLAB saves it (targets_session.mat: MATLAB's 40 x 4 x 5 x 6 array, the
# same values, a dataset of 6 x 5 x 4 x 40, one voxel a chunk), for the command-line tests;
# targets_session_mat.json says where the chunks of voxels (0, 0, 0) and (3, 4, 5) are stored.
path = os.path.join(OUT, "targets_session.mat")
with h5py.File(os.path.join(OUT, "targets_session.hdf5"), "r") as g:
    betas = g["betas"][()]
with h5py.File(path, "w", userblock_size=512) as f:
    d = f.create_dataset("betas", data=betas.T, chunks=(1, 1, 1, 40), compression="gzip", shuffle=True)
    d.attrs["MATLAB_class"] = np.bytes_("int16")
    where = {}
    for v in [(0, 0, 0), (3, 4, 5)]:
        info = d.id.get_chunk_info_by_coord(v[::-1] + (0,))  # its offset after the user block
        where["chunk_%d%d%d" % v] = {"offset": 512 + info.byte_offset, "size": info.size}
matlab_header(path)
with open(os.path.join(OUT, "targets_session_mat.json"), "w") as fh:
    json.dump(where, fh, sort_keys=True)
    fh.write("\n")

with open(os.path.join(OUT, "targets.json"), "w") as fh:
    json.dump(targets, fh, separators=(",", ":"), sort_keys=True)
    fh.write("\n")

with open(os.path.join(OUT, "expected.json"), "w") as fh:
    json.dump(expected, fh, indent=0, sort_keys=True)
    fh.write("\n")
