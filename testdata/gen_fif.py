#!/usr/bin/python3
"""Write small MNE epochs files (.fif) and MNE's reading of them into testdata/fif/.

Run with Debian's interpreter, which has MNE 1.3 (python3-mne), pandas (python3-pandas), scikit-learn
(python3-sklearn) and NumPy:

    apt-get install -y python3-mne python3-pandas python3-sklearn
    /usr/bin/python3 testdata/gen_fif.py

Each file is written by MNE's Epochs.save; expected.json records, per file, what brainalign must
read: mne.read_epochs(...).get_data() (physical units: T, T/m, V; every channel, the bad one
included) flattened in C order (epochs, channels, times; for things-epo.fif, kept small, only each
epoch's first value, "heads"), its shape, the stored precision ("float32" for fmt="single",
"float64" for "double"), epochs.times and epochs.ch_names, and the files a split series is made of. The channels are magnetometers, gradiometers and EEG with
calibrations far from 1 (so that a reader that forgets them is far off) and a name longer than
FIF's 15 characters (stored in MNE's extended channel information). split-epo.fif is saved with a
split size small enough for three parts (split-epo-1.fif, split-epo-2.fif, named in each part);
bynum-epo.fif is such a series whose parts name the next one by number only (the file name tag
overwritten), which MNE resolves with its "-N" convention. "bad" lists files that must be
refused and a part of the error: truncated data, a split series with a part missing, a raw
(continuous) file, an evoked file, complex and integer data, and SSP projectors that MNE would
apply on reading (not applied to the stored data).

"ids" records, for the files written for stimulus ids (events-epo.fif, things-epo.fif, made like
THINGS-MEG's preprocessed files, and nonames-epo.fif), what MNE reads back: epochs.events[:, 2],
epochs.event_id, each epoch's event name and each metadata column as brainalign's ids (None for a
missing value); "bad_ids" the ids specs (FILE or FILE:COLUMN) that must be refused, with a part of
the error.

"group_folds" records, for metadata columns of sessions-epo.fif given as --groups (FILE:COLUMN), the
test rows of each fold of scikit-learn's GroupKFold(k).split(groups=epochs.metadata[COLUMN]) on MNE's
reading of the file: groups of equal size are dealt to the folds in numpy's order of the labels,
which for strings is text order ("10" before "2") and for numbers their value (10.5 after 2.5).
"""

import gzip
import json
import os
import shutil
import struct
import tempfile

import mne
import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import GroupKFold

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fif")
rng = np.random.default_rng(20261207)
mne.set_log_level("ERROR")
expected = {}

FIFF_REF_FILE_NAME = 118
FIFF_EPOCH = 302
FIFF_NOP = 108


def make_epochs(n_epochs, sfreq=100.0, tmin=-0.1, n_times=31, proj=True):
    names = ["MEG0111", "MEG0112", "MEG0113", "EEG001", "EEG-with-a-long-name"]
    types = ["mag", "grad", "grad", "eeg", "eeg"]
    info = mne.create_info(names, sfreq, types)
    # calibrations as a MEG system stores them: the FIF file holds data / cal
    for ch, cal in zip(info["chs"], [3.1e-4, 1.7e-2, 2.3e-2, 4.2e-6, 1.0]):
        ch["cal"] = cal
    info["bads"] = ["MEG0113"]
    scale = np.array([2e-13, 5e-11, 5e-11, 1e-5, 1e-5])[:, None]
    data = rng.normal(size=(n_epochs, len(names), n_times)) * scale
    events = np.c_[np.arange(n_epochs) * 100 + 1000, np.zeros(n_epochs, int), rng.integers(1, 4, n_epochs)]
    return mne.EpochsArray(data, info, events=events, tmin=tmin, baseline=None, proj=proj)


def parts(path):
    """The files of a split series, as MNE follows them."""
    out, fid = [], None
    from mne.io.open import _get_next_fname, fiff_open
    while path is not None:
        out.append(os.path.basename(path))
        fid, tree, _ = fiff_open(path)
        with fid:
            path = _get_next_fname(fid, path, tree)
    return out


def record(name, epochs, fmt="single", values=True, **kw):
    """Saves epochs and records MNE's reading of them: every value, or with values=False each
    epoch's first (channel 0, time 0), which says which epochs are read in which order."""
    path = os.path.join(OUT, name)
    epochs.save(path, fmt=fmt, overwrite=True, **kw)
    back = mne.read_epochs(path)
    data = back.get_data()
    expected[name] = {
        "shape": list(data.shape),
        "dtype": "float32" if fmt == "single" else "float64",
        "values": [float(v) for v in data.ravel()] if values else None,
        "heads": [float(v) for v in data[:, 0, 0]],
        "times": [float(t) for t in back.times],
        "ch_names": list(back.ch_names),
        "sfreq": float(back.info["sfreq"]),
        "parts": parts(path),
    }
    return path


def patch_tags(path, kind, fn):
    """Rewrites the header (kind, type, size, next) of every tag of a kind, scanning sequentially."""
    with open(path, "r+b") as f:
        buf = bytearray(f.read())
        pos = 0
        while pos + 16 <= len(buf):
            k, t, size, nxt = struct.unpack(">iIii", buf[pos:pos + 16])
            if k == kind:
                buf[pos:pos + 16] = struct.pack(">iIii", *fn(k, t, size, nxt))
            if nxt < 0:
                break
            pos = nxt if nxt > 0 else pos + 16 + size
        f.seek(0)
        f.write(buf)


def split_size_for(epochs, n_parts):
    """A split size (bytes) that makes MNE write n_parts files: MNE counts a generous overhead."""
    with tempfile.TemporaryDirectory() as tmp:
        for size in range(1_048_576, 4_000_000, 512):
            try:
                epochs.save(os.path.join(tmp, "x-epo.fif"), split_size=size, overwrite=True)
            except ValueError:  # below MNE's minimum
                continue
            n = len([f for f in os.listdir(tmp) if f.startswith("x-epo")])
            for f in os.listdir(tmp):
                os.remove(os.path.join(tmp, f))
            if n <= n_parts:
                return size
    raise RuntimeError("no split size found")


shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)

mixed = make_epochs(6)
record("mixed-epo.fif", mixed)
record("double_epo.fif", make_epochs(4, sfreq=250.0, tmin=0.0, n_times=20), fmt="double")
# MNE reads any .fif name (with a warning) and gzip-compressed files
record("plain.fif", make_epochs(3, sfreq=200.0, tmin=-0.05, n_times=12))
record("gzipped-epo.fif.gz", make_epochs(3, n_times=9))

series = make_epochs(24)
size = split_size_for(series, 3)
record("split-epo.fif", series, split_size=size)
assert expected["split-epo.fif"]["parts"] == ["split-epo.fif", "split-epo-1.fif", "split-epo-2.fif"], expected["split-epo.fif"]["parts"]
# parts that name the next one by number only (FIFF_REF_FILE_NUM): the name tag made a FIFF_NOP
bynum = make_epochs(10)
record("bynum-epo.fif", bynum, split_size=split_size_for(bynum, 2))
for p in expected["bynum-epo.fif"]["parts"]:
    patch_tags(os.path.join(OUT, p), FIFF_REF_FILE_NAME, lambda k, t, size, nxt: (FIFF_NOP, t, size, nxt))
got = mne.read_epochs(os.path.join(OUT, "bynum-epo.fif")).get_data()
assert np.array_equal(got.ravel(), expected["bynum-epo.fif"]["values"]) and len(expected["bynum-epo.fif"]["parts"]) == 2

# refused
with open(os.path.join(OUT, "mixed-epo.fif"), "rb") as f:
    whole = f.read()
with open(os.path.join(OUT, "truncated-epo.fif"), "wb") as f:
    f.write(whole[: len(whole) * 2 // 3])
with open(os.path.join(OUT, "short-epo.fif"), "wb") as f:  # ends before its blocks do
    f.write(whole[: len(whole) - 40])
gone = make_epochs(10)
gone.save(os.path.join(OUT, "gone-epo.fif"), split_size=split_size_for(gone, 2))
os.remove(os.path.join(OUT, "gone-epo-1.fif"))

raw = mne.io.RawArray(rng.normal(size=(3, 50)) * 1e-12, mne.create_info(["MEG0111", "MEG0121", "MEG0131"], 100.0, "mag"))
raw.save(os.path.join(OUT, "continuous_raw.fif"), overwrite=True)
mixed.average().save(os.path.join(OUT, "average-ave.fif"), overwrite=True)

cplx = make_epochs(2, n_times=8)
cplx = mne.EpochsArray(cplx.get_data() * (1 + 0.5j), cplx.info, tmin=cplx.tmin, baseline=None)
cplx.save(os.path.join(OUT, "complex-epo.fif"), overwrite=True)
shutil.copy(os.path.join(OUT, "gzipped-epo.fif.gz"), os.path.join(OUT, "int-epo.fif.gz"))
with gzip.open(os.path.join(OUT, "int-epo.fif.gz")) as f:
    whole = f.read()
with open(os.path.join(OUT, "int-epo.fif"), "wb") as f:
    f.write(whole)
os.remove(os.path.join(OUT, "int-epo.fif.gz"))
patch_tags(os.path.join(OUT, "int-epo.fif"), FIFF_EPOCH, lambda k, t, size, nxt: (k, 3 | 1 << 30, size, nxt))  # FIFFT_INT

# an SSP projector saved inactive (proj=False): MNE's read_epochs applies it, the stored data lack it
proj = make_epochs(3, n_times=8, proj=False)
proj.add_proj(mne.Projection(data=dict(nrow=1, ncol=2, row_names=None, col_names=["EEG001", "EEG-with-a-long-name"],
                                       data=np.array([[1.0, 1.0]]) / np.sqrt(2)), kind=1, desc="test", active=False))
proj.save(os.path.join(OUT, "proj-epo.fif"), overwrite=True)
stored = mne.read_epochs(os.path.join(OUT, "proj-epo.fif"), proj=False).get_data()
assert not np.allclose(stored, mne.read_epochs(os.path.join(OUT, "proj-epo.fif")).get_data())

with open(os.path.join(OUT, "text.fif"), "w") as f:
    f.write("not a FIF file\n")

bad = {
    "truncated-epo.fif": "truncated",
    "short-epo.fif": "truncated",
    "gone-epo.fif": "gone-epo-1.fif",
    "continuous_raw.fif": "raw (continuous) data",
    "average-ave.fif": "evoked",
    "complex-epo.fif": "complex",
    "int-epo.fif": "data type",
    "proj-epo.fif": "projector",
    "text.fif": "not a FIF file",
}

# Stimulus ids: each epoch's event name and metadata row, as MNE reads them back. Epochs with their
# own generator, so that the files above do not change.
rng_ids = np.random.default_rng(20260114)
ids = {}
bad_ids = {}


def small_epochs(events, event_id=None, metadata=None, n_times=4):
    info = mne.create_info(["MEG0111", "EEG001"], 100.0, ["mag", "eeg"])
    data = rng_ids.normal(size=(len(events), 2, n_times)) * np.array([1e-13, 1e-6])[:, None]
    return mne.EpochsArray(data, info, events=events, tmin=0.0, event_id=event_id, metadata=metadata, baseline=None)


def id_text(v):
    """A metadata value as brainalign's id: strings as they are, whole numbers without a decimal point,
    other numbers as Python's repr, booleans as Python prints them; None for a missing value."""
    if v is None or isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    return str(v)


def record_ids(name):
    """What brainalign must read as ids from a saved epochs file: MNE's events, event_id and metadata."""
    back = mne.read_epochs(os.path.join(OUT, name))
    codes = [int(c) for c in back.events[:, 2]]
    inverse = {v: k for k, v in back.event_id.items()}
    assert len(inverse) == len(back.event_id)
    entry = {"codes": codes, "event_id": {k: int(v) for k, v in back.event_id.items()},
             "names": [inverse.get(c, str(c)) for c in codes], "epochs": len(back), "columns": None}
    if back.metadata is not None:
        entry["columns"] = [str(c) for c in back.metadata.columns]
        entry["metadata"] = {str(c): [id_text(v) for v in back.metadata[c].tolist()] for c in back.metadata.columns}
    ids[name] = entry


def events_of(codes, step=50):
    return np.c_[np.arange(len(codes)) * step + 500, np.zeros(len(codes), int), codes]


# named events (a name with a "/" and one with a ":", which MNE's mapping string allows), repeats, and
# metadata of every kind; epochs 2 and 5 dropped before saving (drop_log), so that the saved epochs,
# their events and their metadata are the 6 others
codes = [1, 2, 1, 5, 2, 1, 5, 2]
meta = pd.DataFrame({
    "image": ["img_%02d.jpg" % i for i in range(8)],
    "things_image_nr": [42, 123, 42, 9, 123, 42, 9, 123],
    "score": [0.5, 1.25, -3.0, 1e-7, 2.5e16, 0.1, 7.0, 12345678.9],
    "with_nan": [1.0, 2.0, np.nan, np.nan, 5.0, np.nan, 7.0, 8.0],
    "flag": [True, False, True, True, False, False, True, False],
    "trial type": ["exp", "test", "exp", "test", "catch", "exp", "test", "exp"],
})
named = small_epochs(events_of(codes), {"image_0042": 1, "cat/image_123": 2, "dog:07/image_9": 5}, meta)
named.drop([2, 5], reason="USER")
named.save(os.path.join(OUT, "events-epo.fif"), overwrite=True)
record_ids("events-epo.fif")
assert ids["events-epo.fif"]["epochs"] == 6 and ids["events-epo.fif"]["metadata"]["image"][2] == "img_03.jpg"

# as THINGS-MEG's preprocessed_P{N}-epo.fif (ViCCo-Group/THINGS-data, MEG/step1_preprocessing.py): events
# coded by the image's THINGS number, catch trials 999999, no event names given (MNE names each code by
# its number), metadata from sample_attributes_P{N}.csv (things_image_nr NaN for catch trials); epochs
# dropped, saved in three parts
things = [("exp", "images_meg/aardvark/aardvark_01b.jpg", 1), ("test", "images_test_meg/bee_13s.jpg", 2017),
          ("exp", "images_meg/abacus/abacus_03s.jpg", 15), ("catch", "images_catch_meg/catch_001.jpg", None),
          ("test", "images_test_meg/coat_rack_13s.jpg", 5170), ("exp", "images_meg/zebra/zebra_02s.jpg", 26100)]
order = [0, 1, 2, 4, 3, 1, 5, 4, 1, 3, 4, 0, 2, 5, 1, 4]  # test images (1, 4) shown 4 and 4 times
rows = [things[i] for i in order]
sa = pd.DataFrame({
    "session_nr": [1 + i // 8 for i in range(len(rows))],
    "run_nr": [1 + i // 4 % 2 for i in range(len(rows))],
    "trial_type": [r[0] for r in rows],
    "image_path": [r[1] for r in rows],
    "things_image_nr": [np.nan if r[2] is None else float(r[2]) for r in rows],
})
thingsep = small_epochs(events_of([999999 if r[2] is None else r[2] for r in rows], step=300), metadata=sa, n_times=150)
thingsep.drop([3, 10], reason="USER")
record("things-epo.fif", thingsep, values=False, split_size=split_size_for(thingsep, 3))
assert expected["things-epo.fif"]["parts"] == ["things-epo.fif", "things-epo-1.fif", "things-epo-2.fif"], expected["things-epo.fif"]["parts"]
record_ids("things-epo.fif")
assert ids["things-epo.fif"]["epochs"] == 14 and ids["things-epo.fif"]["names"][0] == "1"

# no event names stored (the mapping's tag made a FIFF_NOP): MNE names each code by its number
FIFF_DESCRIPTION = 206
shutil.copy(os.path.join(OUT, "events-epo.fif"), os.path.join(OUT, "nonames-epo.fif"))
patch_tags(os.path.join(OUT, "nonames-epo.fif"), FIFF_DESCRIPTION, lambda k, t, size, nxt: (FIFF_NOP, t, size, nxt) if size < 200 else (k, t, size, nxt))
record_ids("nonames-epo.fif")
assert ids["nonames-epo.fif"]["names"] == [str(c) for c in ids["events-epo.fif"]["codes"]]
# no events (the event list made a FIFF_NOP): MNE cannot read it; brainalign reads the data, not ids
FIFF_MNE_EVENT_LIST = 3561
shutil.copy(os.path.join(OUT, "events-epo.fif"), os.path.join(OUT, "noevents-epo.fif"))
patch_tags(os.path.join(OUT, "noevents-epo.fif"), FIFF_MNE_EVENT_LIST, lambda k, t, size, nxt: (FIFF_NOP, t, size, nxt))
try:
    mne.read_epochs(os.path.join(OUT, "noevents-epo.fif"))
    raise AssertionError("MNE read noevents-epo.fif")
except ValueError as e:
    assert "events" in str(e), e
# sessions as the groups of GroupKFold: ten groups of three epochs (every group the same size, so that
# the folds follow numpy's order of the labels), labelled by strings of digits, by non-integer numbers
# of two digits and more, and by integers
labels = [i // 3 for i in range(30)]
sessions = small_epochs(events_of([1] * 30), metadata=pd.DataFrame({
    "session": [str(1 + g) for g in labels],
    "block": [1.5 + 2 * g for g in labels],
    "run": [1 + g for g in labels],
}))
sessions.save(os.path.join(OUT, "sessions-epo.fif"), overwrite=True)
record_ids("sessions-epo.fif")
back = mne.read_epochs(os.path.join(OUT, "sessions-epo.fif"))
assert back.metadata["session"].tolist()[3] == "2" and back.metadata["block"].tolist()[3] == 3.5
group_folds = {}
for col in ("session", "block", "run"):
    folds = GroupKFold(5).split(np.zeros((len(back), 1)), groups=back.metadata[col])
    group_folds["sessions-epo.fif:" + col] = {"k": 5, "tests": [sorted(int(i) for i in test) for _, test in folds]}
assert group_folds["sessions-epo.fif:session"]["tests"] != group_folds["sessions-epo.fif:run"]["tests"]

bad_ids = {
    "noevents-epo.fif": "no events",
    "mixed-epo.fif:image": "no metadata",
    "events-epo.fif:image_nr": "no column image_nr",
    "events-epo.fif:with_nan": "no value",
    "continuous_raw.fif": "raw (continuous) data",
}

total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
assert total < 1_000_000, total
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"generator": "testdata/gen_fif.py", "mne": mne.__version__, "numpy": np.__version__,
               "files": expected, "bad": bad, "ids": ids, "bad_ids": bad_ids,
               "sklearn": sklearn.__version__, "group_folds": group_folds}, f, indent=1)
    f.write("\n")
