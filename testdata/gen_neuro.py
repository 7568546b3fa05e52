#!/usr/bin/python3
"""Write small NIfTI and MGH files and NiBabel's reading of them into testdata/neuro/.

Run with Debian's interpreter, which has NiBabel (python3-nibabel) and NumPy:

    /usr/bin/python3 testdata/gen_neuro.py

Each file is written by NiBabel; expected.json records, per file, the array brainalign must read:
NiBabel's get_fdata() (scaling applied) with the last axis (time, frames) moved first for 4-d
data, flattened in C order, its shape, and the stored dtype. The files cover NIfTI-1 and NIfTI-2,
both byte orders, gzip, integer data with scl_slope/scl_inter, 3-d and 4-d data, and MGH's float,
short, int and uchar types, and CIFTI-2 dense series, scalars and labels and a parcellated series
(read as rows x grayordinates, as NiBabel's get_fdata gives them; "cifti" records the intent, the
axes and label names); scores.dscalar.nii and scores.pscalar.nii are what brainalign's CIFTI
outputs must look like; GIFTI surface data (.func.gii, .shape.gii, .label.gii: one data array per
row, or one vertices x rows array; "gifti" records the hemisphere and label names) and a
surface's .surf.gii and a FreeSurfer surface, lh.white (their vertices' coordinates); HCP-style
grayordinates of both cortices and the thalamus (hcp.dscalar.nii, with its grayordinates' positions
on L/R.midthickness.surf.gii as "coords"), and files of as many grayordinates that are other ones
(hcp_rl.dlabel.nii, hcp_vertex, hcp_voxel, hcp_affine; parcels_other.pscalar.nii); MGH files
with scan parameters after the data ("mgh_footer") and FreeSurfer tags after them, and one of
goodRASFlag -1; NIfTI-1 files of vox_offset 0 ("unset_offset": what they held before); parcels
of vertices and voxels (voxel_parcels.pscalar.nii); grayordinates in no sorted order
(unsorted.dtseries.nii: "grayordinates" records NiBabel's reading of each, "coords" their
positions, on unsorted_L/R.surf.gii for the vertices). "bad" lists files that must be refused and
why.
"""

import base64
import gzip
import json
import os
import re
from struct import pack, unpack
import warnings

import nibabel as nib
import numpy as np
from nibabel import cifti2

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "neuro")
rng = np.random.default_rng(20261206)
affine = np.array([[-2.0, 0.1, 0, 90], [0, 2.0, 0.2, -126], [0, 0, 1.8, -72], [0, 0, 0, 1]])
expected = {}


def record(name, img):
    path = os.path.join(OUT, name)
    nib.save(img, path)
    back = nib.load(path)
    data = np.asarray(back.get_fdata())
    if data.ndim == 4:
        data = np.moveaxis(data, -1, 0)
    affine = getattr(back, "affine", None)  # CIFTI images have none
    expected[name] = {
        "affine": None if affine is None else [float(v) for v in np.asarray(affine).ravel()],
        "shape": list(data.shape),
        "dtype": str(back.get_data_dtype().newbyteorder("=")),
        "values": [float(v) for v in data.ravel()],
    }
    if isinstance(back, cifti2.Cifti2Image):
        axes = [back.header.get_axis(i) for i in range(2)]
        info = {"intent": [int(back.nifti_header["intent_code"]), back.nifti_header.get_intent()[0]],
                "axes": [type(a).__name__ for a in axes]}
        if isinstance(axes[0], cifti2.LabelAxis):
            info["labels"] = {str(k): v[0] for k, v in axes[0].label[0].items()}
        if isinstance(axes[0], cifti2.ScalarAxis):
            info["names"] = [str(n) for n in axes[0].name]
        expected[name]["cifti"] = info


os.makedirs(OUT, exist_ok=True)

# NIfTI-1, int16 with scaling, gzip
raw = rng.integers(-300, 300, size=(3, 4, 2, 5)).astype(np.int16)
img = nib.Nifti1Image(raw, affine)
img.header.set_slope_inter(0.5, 10.0)
record("int16_scaled.nii.gz", img)

# NIfTI-1, big-endian float32
img = nib.Nifti1Image(rng.normal(size=(2, 3, 4, 6)).astype(">f4"), affine)
record("float32_be.nii", img)

# NIfTI-1 with only a qform (a rotation and a flip: qfac -1), and with neither qform nor sform
img = nib.Nifti1Image(rng.normal(size=(3, 2, 2, 2)).astype(np.float32), None)
rot = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, -1]]) @ np.diag([1.5, 2.5, 3.0])
img.set_qform(np.vstack([np.column_stack([rot, [10, -20, 30]]), [0, 0, 0, 1]]), code=1)
img.set_sform(None, code=0)
record("qform_only.nii", img)
img = nib.Nifti1Image(rng.normal(size=(4, 3, 2, 2)).astype(np.float32), None)
img.header.set_zooms((2.0, 3.0, 4.0, 1.0))
img.set_qform(None, code=0)
img.set_sform(None, code=0)
record("no_orientation.nii", img)

# NIfTI-2, float64
img = nib.Nifti2Image(rng.normal(size=(2, 2, 3, 4)), affine)
record("float64.nii2.nii", img)

# NIfTI-1, 3-d uint8 (a mask)
img = nib.Nifti1Image(rng.integers(0, 2, size=(3, 2, 2)).astype(np.uint8), affine)
record("mask_uint8.nii", img)

# MGH: a surface (vertices x 1 x 1 x frames), float, gzip
img = nib.MGHImage(rng.normal(size=(5, 1, 1, 7)).astype(np.float32), affine)
record("surface_float.mgz", img)

# MGH: short, int32 (one frame: read as 3-d), uchar
img = nib.MGHImage(rng.integers(-1000, 1000, size=(2, 3, 2, 4)).astype(np.int16), affine)
record("short.mgh", img)
img = nib.MGHImage(rng.integers(-10**6, 10**6, size=(4, 3, 2)).astype(np.int32), affine)
record("int32_oneframe.mgh", img)
img = nib.MGHImage(rng.integers(0, 255, size=(3, 2, 1, 2)).astype(np.uint8), affine)
record("uchar.mgh", img)
# MGH without orientation (goodRASFlag 0): NiBabel, as FreeSurfer, uses the default coronal
# 1 mm orientation whatever the stored voxel sizes
img = nib.MGHImage(np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.diag([2.0, 3.0, 4.0, 1.0]))
img.header["goodRASFlag"] = 0
record("no_orientation.mgh", img)

# CIFTI-2 (NIfTI-2, 1 x 1 x 1 x 1 x rows x grayordinates): a dense time series and dense scalars
brain = cifti2.BrainModelAxis.from_mask(rng.integers(0, 2, size=9).astype(bool) | (np.arange(9) < 2),
                                        name="CIFTI_STRUCTURE_CORTEX_LEFT")
series = cifti2.SeriesAxis(start=0, step=0.8, size=5)
record("series.dtseries.nii", cifti2.Cifti2Image(rng.normal(size=(5, len(brain))).astype(np.float32), header=(series, brain)))
scalars = cifti2.ScalarAxis(["a", "b"])
record("maps.dscalar.nii", cifti2.Cifti2Image(rng.normal(size=(2, len(brain))), header=(scalars, brain)))
# a parcellated series (parcels of the brain models above) and an atlas of labels (names in its XML)
parcels = cifti2.ParcelsAxis.from_brain_models([("p_one", brain[:3]), ("p_two", brain[3:])])
record("parcels.ptseries.nii", cifti2.Cifti2Image(rng.normal(size=(4, 2)).astype(np.float32), header=(series[:4], parcels)))
atlas = cifti2.LabelAxis(["atlas"], {0: ("???", (0, 0, 0, 0)), 1: ("V1", (1, 0, 0, 1)), 2: ("V2 & V3", (0, 1, 0, 1))})
record("atlas.dlabel.nii", cifti2.Cifti2Image((np.arange(len(brain)) % 3)[None, :].astype(np.int32), header=(atlas, brain)))
# grayordinates of surface vertices and subcortical voxels (a Volume element in the XML)
thalamus = np.zeros((3, 2, 2), dtype=bool)
thalamus[1:, 0, 1] = True
mixed = brain + cifti2.BrainModelAxis.from_mask(thalamus, name="CIFTI_STRUCTURE_THALAMUS_LEFT", affine=affine)
record("mixed.dtseries.nii", cifti2.Cifti2Image(rng.normal(size=(3, len(mixed))).astype(np.float32), header=(series[:3], mixed)))
# what NiBabel writes for one named map of scores over the grayordinates of mixed.dtseries.nii and
# parcels.ptseries.nii: the files brainalign's scores.dscalar.nii / .pscalar.nii must match
record("scores.dscalar.nii", cifti2.Cifti2Image(np.linspace(-1, 1, len(mixed))[None, :], header=(cifti2.ScalarAxis(["scores"]), mixed)))
record("scores.pscalar.nii", cifti2.Cifti2Image(np.array([[0.25, -0.5]]), header=(cifti2.ScalarAxis(["scores"]), parcels)))

# GIFTI (fMRIPrep's and Workbench's per-hemisphere surface data): read as rows x vertices, one
# row per data array (time points, maps), or the transpose of one vertices x rows array


def record_gifti(name, img):
    path = os.path.join(OUT, name)
    nib.save(img, path)
    back = nib.load(path)
    data = [d for d in back.darrays if d.intent != nib.nifti1.intent_codes["NIFTI_INTENT_TRIANGLE"]]
    if data[0].intent == nib.nifti1.intent_codes["NIFTI_INTENT_POINTSET"]:
        rows = data[0].data  # a surface: its vertices' coordinates, vertices x 3
    elif len(data) == 1 and data[0].data.ndim == 2:
        rows = data[0].data.T
    else:
        rows = np.stack([d.data for d in data])
    expected[name] = {
        "affine": None,
        "shape": list(rows.shape),
        "dtype": str(data[0].data.dtype.newbyteorder("=")),
        "values": [float(v) for v in np.asarray(rows, dtype=np.float64).ravel()],
        "gifti": {"structure": back.meta.get("AnatomicalStructurePrimary"),
                  "labels": {str(l.key): l.label for l in back.labeltable.labels},
                  "surface": bool(data[0].intent == nib.nifti1.intent_codes["NIFTI_INTENT_POINTSET"])},
    }


def darray(data, intent="NIFTI_INTENT_NONE", **kw):
    return nib.gifti.GiftiDataArray(data, intent=intent, **kw)


left = nib.gifti.GiftiMetaData({"AnatomicalStructurePrimary": "CortexLeft", "AnatomicalStructureSecondary": "MidThickness"})
frames = rng.normal(size=(6, 7)).astype(np.float32)
record_gifti("sub-01_hemi-L_bold.func.gii",
             nib.gifti.GiftiImage(meta=left, darrays=[darray(f, "NIFTI_INTENT_TIME_SERIES") for f in frames]))
record_gifti("ascii_int32.shape.gii",
             nib.gifti.GiftiImage(darrays=[darray(rng.integers(-50, 50, size=5).astype(np.int32), encoding="ASCII")]))
record_gifti("b64_be_float64.func.gii",
             nib.gifti.GiftiImage(darrays=[darray(rng.normal(size=4), encoding="B64BIN") for _ in range(3)]))
# NiBabel writes little-endian data whatever it is asked: the same file rewritten big-endian, and
# recorded as NiBabel reads it back
be = os.path.join(OUT, "b64_be_float64.func.gii")
with open(be) as f:
    xml = f.read()
xml = re.sub(r"<Data>([^<]*)</Data>", lambda m: "<Data>" + base64.b64encode(
    np.frombuffer(base64.b64decode(m.group(1)), dtype="<f8").astype(">f8").tobytes()).decode() + "</Data>", xml)
with open(be, "w") as f:
    f.write(xml.replace('Endian="LittleEndian"', 'Endian="BigEndian"'))
assert np.array_equal(np.stack([d.data for d in nib.load(be).darrays]).ravel(), expected["b64_be_float64.func.gii"]["values"])
record_gifti("matrix_rowmajor.func.gii",
             nib.gifti.GiftiImage(darrays=[darray(rng.normal(size=(7, 4)).astype(np.float32), ordering="C")]))
record_gifti("matrix_colmajor.func.gii",
             nib.gifti.GiftiImage(darrays=[darray(rng.normal(size=(7, 4)).astype(np.float32), ordering="F")]))
record_gifti("uint8_mask.shape.gii",
             nib.gifti.GiftiImage(darrays=[darray((np.arange(7) % 3 != 0).astype(np.uint8))]))
table = nib.gifti.GiftiLabelTable()
for key, label in [(0, "???"), (1, "V1"), (2, "V2 & V3")]:
    lab = nib.gifti.GiftiLabel(key)
    lab.label = label
    table.labels.append(lab)
record_gifti("lh.atlas.label.gii",
             nib.gifti.GiftiImage(meta=left, labeltable=table, darrays=[darray((np.arange(7) % 3).astype(np.int32), "NIFTI_INTENT_LABEL")]))
record_gifti("lh.white.surf.gii",
             nib.gifti.GiftiImage(meta=left, darrays=[darray(rng.normal(size=(7, 3)).astype(np.float32) * 40, "NIFTI_INTENT_POINTSET"),
                                                      darray(np.array([[0, 1, 2], [2, 3, 4]], dtype=np.int32), "NIFTI_INTENT_TRIANGLE")]))
# what NiBabel writes for a map of scores over the vertices of the left hemisphere above
record_gifti("scores.func.gii", nib.gifti.GiftiImage(meta=left, darrays=[darray(np.linspace(-1, 1, 7).astype(np.float32))]))

# a FreeSurfer surface (fsaverage's lh.white and so on: no extension, a magic number): its
# vertices' coordinates, vertices x 3, as nibabel.freesurfer.read_geometry gives them
surf_xyz = (rng.normal(size=(6, 3)) * 30).astype(np.float32)
nib.freesurfer.write_geometry(os.path.join(OUT, "lh.white"), surf_xyz, np.array([[0, 1, 2], [2, 3, 4], [3, 4, 5]]),
                              create_stamp="created by testdata/gen_neuro.py")
xyz, _ = nib.freesurfer.read_geometry(os.path.join(OUT, "lh.white"))
expected["lh.white"] = {"affine": None, "shape": list(xyz.shape), "dtype": "float32", "values": [float(v) for v in xyz.ravel()]}

# HCP-style grayordinates: both cortices (the medial wall left out: fewer grayordinates than
# vertices) and subcortical voxels, with the midthickness surfaces that place the vertices; and
# files of as many grayordinates that are not the same ones (SameGrid must tell them apart)
rng2 = np.random.default_rng(20260407)
lmask = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], dtype=bool)
rmask = np.array([1, 0, 1, 1, 1, 0, 0, 1, 1], dtype=bool)
cortex_l = cifti2.BrainModelAxis.from_mask(lmask, name="CIFTI_STRUCTURE_CORTEX_LEFT")
cortex_r = cifti2.BrainModelAxis.from_mask(rmask, name="CIFTI_STRUCTURE_CORTEX_RIGHT")
thal = np.zeros((3, 2, 2), dtype=bool)
thal[0, 1, 1] = thal[2, 0, 1] = True
thal_l = cifti2.BrainModelAxis.from_mask(thal, name="CIFTI_STRUCTURE_THALAMUS_LEFT", affine=affine)
hcp = cortex_l + cortex_r + thal_l
one_map = cifti2.ScalarAxis(["map"])
record("hcp.dscalar.nii", cifti2.Cifti2Image(rng2.normal(size=(1, len(hcp))), header=(one_map, hcp)))
# the right cortex first: the same count
hcp_atlas = cifti2.LabelAxis(["atlas"], {0: ("???", (0, 0, 0, 0)), 1: ("V1", (1, 0, 0, 1)), 2: ("V2", (0, 1, 0, 1))})
record("hcp_rl.dlabel.nii", cifti2.Cifti2Image((np.arange(len(hcp)) % 3)[None, :].astype(np.int32),
                                               header=(hcp_atlas, cortex_r + cortex_l + thal_l)))
# another medial wall on the left (vertex 2 in, 3 out), another thalamus voxel, another volume
lmask2 = lmask.copy()
lmask2[2], lmask2[3] = True, False
record("hcp_vertex.dscalar.nii", cifti2.Cifti2Image(rng2.normal(size=(1, len(hcp))),
                                                    header=(one_map, cifti2.BrainModelAxis.from_mask(lmask2, name="CIFTI_STRUCTURE_CORTEX_LEFT") + cortex_r + thal_l)))
thal2 = np.zeros((3, 2, 2), dtype=bool)
thal2[0, 1, 1] = thal2[1, 0, 1] = True
record("hcp_voxel.dscalar.nii", cifti2.Cifti2Image(rng2.normal(size=(1, len(hcp))),
                                                   header=(one_map, cortex_l + cortex_r + cifti2.BrainModelAxis.from_mask(thal2, name="CIFTI_STRUCTURE_THALAMUS_LEFT", affine=affine))))
shifted = affine.copy()
shifted[0, 3] += 2
record("hcp_affine.dscalar.nii", cifti2.Cifti2Image(rng2.normal(size=(1, len(hcp))),
                                                    header=(one_map, cortex_l + cortex_r + cifti2.BrainModelAxis.from_mask(thal, name="CIFTI_STRUCTURE_THALAMUS_LEFT", affine=shifted))))
# a noise ceiling map over them, one map as brainalign ceiling writes it
ceil = rng2.uniform(0, 1, size=(1, len(hcp)))
record("hcp_ceiling.dscalar.nii", cifti2.Cifti2Image(ceil, header=(cifti2.ScalarAxis(["ceiling"]), hcp)))
# parcels of as many parcels over other vertices
record("parcels_other.pscalar.nii", cifti2.Cifti2Image(np.array([[0.5, 0.25]]), header=(
    cifti2.ScalarAxis(["scores"]), cifti2.ParcelsAxis.from_brain_models([("p_one", brain[:2]), ("p_two", brain[2:])]))))
# each hemisphere's midthickness, all 9 vertices; "coords" records each grayordinate's position:
# its vertex's on its cortex's surface, a voxel's by the volume's affine
mid = {}
for side, struct in (("L", "CortexLeft"), ("R", "CortexRight")):
    mid[side] = (rng2.normal(size=(9, 3)) * 40).astype(np.float32)
    record_gifti(side + ".midthickness.surf.gii", nib.gifti.GiftiImage(
        meta=nib.gifti.GiftiMetaData({"AnatomicalStructurePrimary": struct, "AnatomicalStructureSecondary": "MidThickness"}),
        darrays=[darray(mid[side], "NIFTI_INTENT_POINTSET"), darray(np.array([[0, 1, 2], [2, 3, 4]], dtype=np.int32), "NIFTI_INTENT_TRIANGLE")]))
back = nib.load(os.path.join(OUT, "hcp.dscalar.nii")).header.get_axis(1)
coords = []
for name, _, bm in back.iter_structures():
    for vertex, voxel in zip(bm.vertex, bm.voxel):
        if name == "CIFTI_STRUCTURE_CORTEX_LEFT":
            coords.append(mid["L"][vertex].astype(np.float64))
        elif name == "CIFTI_STRUCTURE_CORTEX_RIGHT":
            coords.append(mid["R"][vertex].astype(np.float64))
        else:
            coords.append(nib.affines.apply_affine(back.affine, voxel))
expected["hcp.dscalar.nii"]["coords"] = [float(v) for v in np.ravel(coords)]

# FreeSurfer's NIfTI-1 surfaces (save_nifti.m, mri_convert; NiBabel reads and writes them so):
# more vertices than dim's int16 holds are stored as -1 x 1 x 1 with the count in glmin, and
# fsaverage's 163,842 (ico7) as 27307 x 1 x 6, the vertices in order. Vertex v of frame t holds
# v % 251 + 1000 t; "values" records NiBabel's first 600 of the first frame.
for name, vertices in (("fs_ico7.nii.gz", 163842), ("fs_large.nii.gz", 40000)):
    v = np.arange(vertices)
    data = np.stack([v % 251 + 1000 * t for t in range(2)], axis=-1).astype(np.uint16).reshape(vertices, 1, 1, 2)
    path = os.path.join(OUT, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NiBabel warns that SPM and FSL do not read the -1 hack
        nib.save(nib.Nifti1Image(data, affine, dtype=np.uint16), path)
    back = nib.load(path)
    values = np.moveaxis(np.asarray(back.get_fdata()), -1, 0)
    assert np.array_equal(values[1, :, 0, 0], v % 251 + 1000)
    expected[name] = {"affine": [float(x) for x in back.affine.ravel()], "shape": list(values.shape), "dtype": "uint16",
                      "values": [float(x) for x in values.ravel()[:600]],
                      "dim": [int(d) for d in back.header["dim"]], "glmin": int(back.header["glmin"])}

# maps stored as one frame of a 4-d file (x, y, z, 1: fslroi's and some pipelines' masks), on the
# grid of float32_be.nii's first three axes at 3 x 4 x 1: a mask, an atlas and a noise ceiling
# map, each the 3-d volume nilearn takes it for; in C order over (x, y, z) the mask keeps voxels
# 1, 2, 4, 7, 8, 10 and 11
keep = np.zeros(12)
keep[[1, 2, 4, 7, 8, 10, 11]] = 1
record("mask_oneframe.nii", nib.Nifti1Image(keep.reshape(3, 4, 1, 1).astype(np.uint8), affine))
record("atlas_oneframe.nii", nib.Nifti1Image((np.arange(12) % 3).reshape(3, 4, 1, 1).astype(np.int16), affine))
record("ceiling_oneframe.nii", nib.Nifti1Image(np.linspace(0.05, 0.6, 12).reshape(3, 4, 1, 1).astype(np.float32), affine))

# sparse GIFTI data: a NIFTI_INTENT_NODE_INDEX array lists the vertices the next array's values
# are for (refused: read as another row of values, the indices would be taken for data)
nib.save(nib.gifti.GiftiImage(meta=left, darrays=[darray(np.array([0, 3, 5], dtype=np.int32), "NIFTI_INTENT_NODE_INDEX"),
                                                  darray(np.array([7, 8, 9], dtype=np.int32))]),
         os.path.join(OUT, "sparse.func.gii"))

# refused: complex data, a header cut short, data cut short
img = nib.Nifti1Image(np.ones((2, 2, 2), dtype=np.complex64), affine)
nib.save(img, os.path.join(OUT, "complex.nii"))
with open(os.path.join(OUT, "float32_be.nii"), "rb") as f:
    whole = f.read()
with open(os.path.join(OUT, "short_header.nii"), "wb") as f:
    f.write(whole[:200])
with open(os.path.join(OUT, "short_data.nii"), "wb") as f:
    f.write(whole[:-10])
with open(os.path.join(OUT, "sub-01_hemi-L_bold.func.gii"), "rb") as f:
    whole = f.read()
with open(os.path.join(OUT, "truncated.func.gii"), "wb") as f:
    f.write(whole[: len(whole) // 2])
with open(os.path.join(OUT, "external.func.gii"), "w") as f:
    f.write(whole.decode().replace('Encoding="GZipBase64Binary"', 'Encoding="ExternalFileBinary" ExternalFileName="data.bin"', 1))
with open(os.path.join(OUT, "lh.white"), "rb") as f:
    whole = f.read()
with open(os.path.join(OUT, "rh.white.short"), "wb") as f:
    f.write(whole[:60])
# MGH's trailer: the scan parameters after the data (TR, flip angle, TE, TI, FoV: NiBabel's
# MGHHeader footer, "mgh_footer" as NiBabel reads it), which maps written in the file's space keep,
# and FreeSurfer's tags after them (which NiBabel neither reads nor writes: appended here in
# FreeSurfer's layout, tags.cpp, an int32 code and an int64 length, big-endian; "mgh_tags_kept"
# lists, in hex, the ones a map keeps: the talairach transform, the phase encoding direction and
# the field strength, up to the old colour table, whose extent is not given)
rng3 = np.random.default_rng(20261207)


def footer(name):
    hdr = nib.load(os.path.join(OUT, name)).header
    expected[name]["mgh_footer"] = [float(hdr[f]) for f in ("tr", "flip_angle", "te", "ti", "fov")]


img = nib.MGHImage(rng3.normal(size=(3, 2, 2, 4)).astype(np.float32), affine)
for field, value in (("tr", 2000.0), ("flip_angle", np.deg2rad(77.0)), ("te", 30.5), ("ti", 900.0), ("fov", 256.0)):
    img.header[field] = value
record("scan_params.mgz", img)
footer("scan_params.mgz")
img = nib.MGHImage(rng3.integers(-500, 500, size=(3, 4, 2)).astype(np.int16), affine)
for field, value in (("tr", 2300.0), ("flip_angle", np.deg2rad(9.0)), ("te", 2.98), ("ti", 1100.0), ("fov", 240.0)):
    img.header[field] = value
record("tagged.mgh", img)


def tag(code, payload):
    return pack(">iq", code, len(payload)) + payload


kept = [tag(31, b"/subjects/bert/mri/transforms/talairach.xfm\0"), tag(41, b"ROW"), tag(43, pack(">f", 3.0))]
tags = (kept[0] + tag(3, b"mri_convert orig.nii orig.mgz\0") + kept[1] + tag(42, bytes(range(40))) + kept[2]
        + pack(">i", 1) + pack(">iii", -2, 3, 0) + tag(3, b"mri_binarize --i orig.mgz\0"))
with open(os.path.join(OUT, "tagged.mgh"), "ab") as f:
    f.write(tags)
footer("tagged.mgh")
back = nib.load(os.path.join(OUT, "tagged.mgh"))
assert np.array_equal(np.asarray(back.dataobj), np.asarray(img.dataobj))  # the tags do not disturb NiBabel
expected["tagged.mgh"]["mgh_tags_kept"] = b"".join(kept).hex()

# goodRASFlag -1, which FreeSurfer writes for a volume whose orientation it did not know: NiBabel
# takes the stored spacing, direction cosines and centre (only a flag of 0 gives its default),
# FreeSurfer's C++ tools the default coronal 1 mm
img = nib.MGHImage(np.arange(24, dtype=np.float32).reshape(2, 3, 4), affine)
img.header["goodRASFlag"] = -1
record("ras_flag_minus1.mgh", img)
assert int(nib.load(os.path.join(OUT, "ras_flag_minus1.mgh")).header["goodRASFlag"]) == -1
assert np.allclose(expected["ras_flag_minus1.mgh"]["affine"], affine.ravel(), atol=1e-4)

# NIfTI-1 of vox_offset 0 (unset) in a single file: NiBabel takes the offset as it is and reads the
# header as data, nifti_clib from byte 348; brainalign places the data at the end of the file.
# "unset_offset" records NiBabel's reading of each file before its vox_offset was set to 0: the
# data after the header and extension flag (352), after the header alone (the flag cut out), gzip'd;
# one with bytes after the data is refused
unset = {}
img = nib.Nifti1Image(rng3.normal(size=(3, 2, 4)).astype(np.float32), affine)
path = os.path.join(OUT, "vox_offset0.nii")
nib.save(img, path)
values = np.asarray(nib.load(path).get_fdata())
with open(path, "rb") as f:
    whole = bytearray(f.read())
assert unpack("<f", whole[108:112])[0] == 352 and whole[348:352] == b"\0\0\0\0"
whole[108:112] = pack("<f", 0.0)
variants = {"vox_offset0.nii": bytes(whole), "vox_offset0_348.nii": bytes(whole[:348] + whole[352:])}
variants["vox_offset0.nii.gz"] = gzip.compress(variants["vox_offset0.nii"], mtime=0)
for name, b in variants.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b)
    try:  # NiBabel: from byte 0, or (the data's first byte taken for an extension flag) refused
        nibabel = "reads from byte %d" % nib.load(os.path.join(OUT, name)).dataobj.offset
    except Exception as e:
        nibabel = "refuses it: %s" % e
    unset[name] = {"shape": list(values.shape), "values": [float(v) for v in values.ravel()], "nibabel": nibabel}
with open(os.path.join(OUT, "vox_offset0_trailing.nii"), "wb") as f:
    f.write(variants["vox_offset0.nii"] + bytes(8))

# parcels of vertices and voxels (one parcel of both): HCP's subcortical parcels are voxels
vp = cifti2.ParcelsAxis.from_brain_models([("cortex", mixed[:2]), ("both", mixed[2:])])
record("voxel_parcels.pscalar.nii", cifti2.Cifti2Image(np.array([[0.5, -1.5], [2.0, 3.0]]), header=(cifti2.ScalarAxis(["m1", "m2"]), vp)))
assert len(nib.load(os.path.join(OUT, "voxel_parcels.pscalar.nii")).header.get_axis(1).voxels[1]) > 0

# grayordinates as a file may list them, harder than HCP's (where NiBabel's from_mask gives
# sorted vertices and voxels in C order): the left cortex's vertices unsorted, the left thalamus
# between the two cortices with its voxels in no index order, on an oblique volume (rotated, of
# three voxel sizes), the right cortex's vertices unsorted on a surface of another size. Its own
# generator, so the fixtures above stay as they are. "grayordinates" records NiBabel's reading,
# in the file's order: each one's structure, vertex (-1 for a voxel) and voxel ijk (-1s for a
# vertex); "coords" each one's position, a vertex's on unsorted_L/R.surf.gii, a voxel's
# [i, j, k, 1] @ affine.T
rng4 = np.random.default_rng(20261208)
rot_z, rot_x = np.deg2rad(30.0), np.deg2rad(-20.0)
rotation = (np.array([[np.cos(rot_z), -np.sin(rot_z), 0], [np.sin(rot_z), np.cos(rot_z), 0], [0, 0, 1]])
            @ np.array([[1, 0, 0], [0, np.cos(rot_x), -np.sin(rot_x)], [0, np.sin(rot_x), np.cos(rot_x)]]))
oblique = np.eye(4)
oblique[:3, :3] = rotation @ np.diag([1.5, 2.0, 2.5])
oblique[:3, 3] = [-31.5, 12.25, -4.75]
assert np.count_nonzero(oblique[:3, :3]) > 6  # off-diagonal terms
unsorted_l = cifti2.BrainModelAxis.from_surface(np.array([6, 1, 4, 0, 7]), 8, name="CortexLeft")
voxels = np.array([[2, 1, 0], [0, 0, 1], [1, 1, 2], [0, 1, 0]])
assert not np.array_equal(np.lexsort(voxels.T[::-1]), np.arange(len(voxels)))  # not C order
unsorted_thal = cifti2.BrainModelAxis("CIFTI_STRUCTURE_THALAMUS_LEFT", voxel=voxels, affine=oblique, volume_shape=(3, 2, 3))
unsorted_r = cifti2.BrainModelAxis.from_surface(np.array([3, 5, 0, 2]), 6, name="CortexRight")
unsorted = unsorted_l + unsorted_thal + unsorted_r
record("unsorted.dtseries.nii", cifti2.Cifti2Image(rng4.normal(size=(3, len(unsorted))).astype(np.float32), header=(series[:3], unsorted)))
surf = {}
for side, struct, n in (("L", "CortexLeft", 8), ("R", "CortexRight", 6)):
    surf[side] = (rng4.normal(size=(n, 3)) * 40).astype(np.float32)
    record_gifti("unsorted_" + side + ".surf.gii", nib.gifti.GiftiImage(
        meta=nib.gifti.GiftiMetaData({"AnatomicalStructurePrimary": struct, "AnatomicalStructureSecondary": "MidThickness"}),
        darrays=[darray(surf[side], "NIFTI_INTENT_POINTSET"), darray(np.array([[0, 1, 2], [2, 3, 4]], dtype=np.int32), "NIFTI_INTENT_TRIANGLE")]))
back = nib.load(os.path.join(OUT, "unsorted.dtseries.nii")).header.get_axis(1)
assert [n for n, _, _ in back.iter_structures()] == ["CIFTI_STRUCTURE_CORTEX_LEFT", "CIFTI_STRUCTURE_THALAMUS_LEFT", "CIFTI_STRUCTURE_CORTEX_RIGHT"]
assert np.allclose(back.affine, oblique)
coords = []
for name, vertex, voxel in zip(back.name, back.vertex, back.voxel):
    if name == "CIFTI_STRUCTURE_CORTEX_LEFT":
        coords.append(surf["L"][vertex].astype(np.float64))
    elif name == "CIFTI_STRUCTURE_CORTEX_RIGHT":
        coords.append(surf["R"][vertex].astype(np.float64))
    else:
        coords.append((np.append(voxel, 1) @ back.affine.T)[:3])
assert np.allclose(coords[5:9], nib.affines.apply_affine(oblique, voxels))
expected["unsorted.dtseries.nii"]["grayordinates"] = [
    {"structure": str(name), "vertex": int(vertex), "voxel": [int(i) for i in voxel]}
    for name, vertex, voxel in zip(back.name, back.vertex, back.voxel)]
expected["unsorted.dtseries.nii"]["coords"] = [float(v) for v in np.ravel(coords)]

bad = {
    "vox_offset0_trailing.nii": "vox_offset 0",
    "rh.white.short": "truncated",
    "truncated.func.gii": "GIFTI XML",
    "external.func.gii": "ExternalFileBinary",
    "sparse.func.gii": "NIFTI_INTENT_NODE_INDEX",
    "complex.nii": "NIfTI datatype complex64",
    "short_header.nii": "too short for a NIfTI header",
    "short_data.nii": "truncated",
}

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"generator": "testdata/gen_neuro.py", "nibabel": nib.__version__, "numpy": np.__version__,
               "files": expected, "unset_offset": unset, "bad": bad}, f, indent=1)
    f.write("\n")
