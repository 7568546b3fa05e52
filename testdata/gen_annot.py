#!/usr/bin/python3
"""Writes FreeSurfer annotation files (.annot: one hemisphere's ROI labels, as lh.aparc.annot and
lh.HCP_MMP1.annot are) and NiBabel's reading of them into testdata/annot/.

Run with Debian's interpreter, which has NiBabel (python3-nibabel) and NumPy:

    /usr/bin/python3 testdata/gen_annot.py

  lh.annot      40 vertices, written by nibabel.freesurfer.write_annot (a new-format colour table,
                version 2) of entries unknown, V1, V2, MT; vertices 5 and 6 are labelled -1
                (annotation value 0), and vertices 30 and 31 are then given, byte by byte, an
                annotation value that is no entry's colour
  rh.annot      40 vertices in another arrangement, the same colour table, no stray values
  old.annot     an old-format colour table (a positive number of entries, indexed in order),
                written byte by byte, of 12 vertices listed in a shuffled order (each pair names
                its vertex), entries ???, LO, FFA
expected.json   per file: "labels", each vertex's colour table index (-1 for none) and "names",
                index -> name. The labels are nibabel.freesurfer.read_annot's where the annotation
                value is 0 or some entry's colour; where it is no entry's colour read_annot returns
                a neighbouring entry (np.searchsorted finds no match), and the label recorded is
                -1, as FreeSurfer's CTABfindAnnotation gives; read_annot takes the values in the
                file's order, and the labels recorded are placed at the vertices the file names
                (FreeSurfer's MRISreadAnnotation), which for old.annot's shuffled pairs differ.
                "rdms" holds, per ROI name, the Euclidean RDM (condensed: scipy's pdist order) of the
                6 rows of brain.npy (6 x 80 float64: lh's 40 vertices, then rh's) over the vertices
                of that ROI in lh.annot and rh.annot joined, computed here with NumPy, for
                rsa --distance euclidean --save-rdms; features.npy is a 6 x 5 float64 array of
                activations to go with it.
"""
import json
import os

import nibabel.freesurfer as fs
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "annot")
BE = ">i4"
STRAY = 0x123456  # R 0x56, G 0x34, B 0x12: the colour of no entry


def ctab(rgbt):
    return np.array(rgbt, dtype=np.int32)


def expected(path, vertices=None):
    """NiBabel's labels and names, with values of no entry -1 and labels placed at their vertices."""
    labels, tab, names = fs.read_annot(path)
    raw, _, _ = fs.read_annot(path, orig_ids=True)
    known = set(tab[:, 4].tolist())
    labels = np.where(np.isin(raw, list(known)) | (raw == 0), labels, -1)
    if vertices is not None:
        placed = np.full(len(labels), -9)
        placed[vertices] = labels
        labels = placed
    names = {str(i): n.decode() for i, n in enumerate(names)}
    return [int(l) for l in labels], names


def write_old(path, vertices, values, names, rgbt):
    """An annotation with an old-format colour table, as FreeSurfer wrote them before version 2."""
    with open(path, "wb") as f:
        def i32(*v):
            f.write(np.array(v, dtype=BE).tobytes())

        def string(s):
            b = s.encode() + b"\x00"
            i32(len(b))
            f.write(b)

        i32(len(vertices))
        for v, a in zip(vertices, values):
            i32(v, a)
        i32(1)  # a colour table follows
        i32(len(names))  # old format: the number of entries
        string("colortable.txt")
        for n, c in zip(names, rgbt):
            string(n)
            i32(*c)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    out = {}
    names = ["unknown", "V1", "V2", "MT"]
    rgbt = ctab([[25, 5, 25, 0], [220, 20, 10, 0], [20, 220, 60, 0], [60, 20, 220, 0]])
    lh = np.array([0] * 5 + [-1] * 2 + [1] * 10 + [2] * 12 + [3] * 11)
    lh = lh[rng.permutation(40)]
    lh[[5, 6]] = -1
    lh[[30, 31]] = 2  # given stray values below
    path = os.path.join(OUT, "lh.annot")
    fs.write_annot(path, lh, rgbt, names)
    b = bytearray(open(path, "rb").read())
    for v in (30, 31):  # (vertex, value) pairs start after the vertex count
        b[4 + 8 * v + 4:4 + 8 * v + 8] = np.array([STRAY], dtype=BE).tobytes()
    open(path, "wb").write(bytes(b))
    rh = np.array([1] * 8 + [2] * 10 + [3] * 12 + [0] * 6 + [-1] * 4)[rng.permutation(40)]
    fs.write_annot(os.path.join(OUT, "rh.annot"), rh, rgbt, names)

    old_names = ["???", "LO", "FFA"]
    old_rgbt = [[255, 255, 255, 0], [10, 100, 200, 0], [200, 100, 10, 0]]
    packed = [r + (g << 8) + (b << 16) for r, g, b, _ in old_rgbt]
    old_labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, -1])[rng.permutation(12)]
    order = rng.permutation(12)  # the vertex each pair names
    values = [packed[old_labels[v]] if old_labels[v] >= 0 else 0 for v in order]
    write_old(os.path.join(OUT, "old.annot"), order.tolist(), values, old_names, old_rgbt)

    for name, vertices in (("lh.annot", None), ("rh.annot", None), ("old.annot", order)):
        labels, n = expected(os.path.join(OUT, name), vertices)
        out[name] = {"labels": labels, "names": n}
    assert out["lh.annot"]["labels"][30] == -1 and out["lh.annot"]["labels"][5] == -1
    assert out["old.annot"]["labels"] == old_labels.tolist()

    brain = rng.standard_normal((6, 80))
    np.save(os.path.join(OUT, "brain.npy"), brain)
    np.save(os.path.join(OUT, "features.npy"), rng.standard_normal((6, 5)))
    joined = np.array(out["lh.annot"]["labels"] + out["rh.annot"]["labels"])
    rdms = {}
    for k, roi in enumerate(names):
        b = brain[:, joined == k]
        rdms[roi] = [float(np.sqrt(((b[i] - b[j]) ** 2).sum())) for i in range(6) for j in range(i + 1, 6)]
    out["rdms"] = rdms
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
