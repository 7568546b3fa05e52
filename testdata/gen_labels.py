#!/usr/bin/python3
"""Writes per-row label arrays (--groups, --test-fold, ceiling --sessions), MEG times and training
steps as other tools save them (testdata/labels/).

Run with Debian's numpy and h5py:  /usr/bin/python3 testdata/gen_labels.py
Every file holds the labels LABELS, one per row, as numpy indexes them (C order):
  col.npy            LABELS.reshape(-1, 1), int64 (a column, as df[["session"]].to_numpy() gives)
  row.npy            LABELS.reshape(1, -1), int32
  labels.h5          h5py dataset "labels" of int64 (HDF5 integers are read as floats)
  labels.mat         MATLAB v7.3 int16 1 x n row vector (a dataset of n x 1, MATLAB_class int16)
  col_uint8.h5       h5py dataset "labels" of shape (n, 1), uint8
  floats.npy         float64 labels with whole values (GroupKFold and PredefinedSplit take them)
  double.mat         MATLAB v7.3 double n x 1 column (MATLAB's default class)
Vectors of other kinds, as MATLAB and h5py save them:
  times.mat          MATLAB v7.3 double 1 x 5 row vector of MEG times (s): TIMES
  times_col.npy      TIMES.reshape(-1, 1)
  steps.h5           h5py dataset "steps" of int64: STEPS
  steps.mat          MATLAB v7.3 double 1 x 3 row vector: STEPS
Refused:
  big.h5             int64 labels beyond 2^53 (float64, which HDF5 integers are read as, rounds them)
  fractional.npy     float64 labels of which one is 0.5 (PredefinedSplit would truncate it to 0)
  nan.npy            float32 labels of which one is NaN
  matrix.npy         a 2 x 3 array of int64: not one label per row
"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "labels")
LABELS = np.array([2, 0, -1, 1, 1, 0], np.int64)
TIMES = np.array([-0.1, 0.0, 0.1, 0.2, 0.3])
STEPS = np.array([1000, 10000, 100000], np.int64)
MATLAB_HEAD = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."


def write_mat(path, matrix, matlab_class, name="labels"):
    """A MATLAB v7.3 file of one variable: HDF5 with a 512-byte MATLAB header, the matrix stored
    with its axes reversed (MATLAB is column-major)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        d = f.create_dataset(name, data=np.ascontiguousarray(matrix.T))
        d.attrs["MATLAB_class"] = np.bytes_(matlab_class)
    with open(path, "r+b") as f:
        f.write(MATLAB_HEAD + b" " * (116 - len(MATLAB_HEAD)) + b"\x00" * 8 + b"\x00\x02IM")


def main():
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "col.npy"), LABELS.reshape(-1, 1))
    np.save(os.path.join(OUT, "row.npy"), LABELS.reshape(1, -1).astype(np.int32))
    with h5py.File(os.path.join(OUT, "labels.h5"), "w") as f:
        f.create_dataset("labels", data=LABELS)
    with h5py.File(os.path.join(OUT, "col_uint8.h5"), "w") as f:
        f.create_dataset("labels", data=(LABELS + 1).astype(np.uint8).reshape(-1, 1))
    write_mat(os.path.join(OUT, "labels.mat"), LABELS.astype(np.int16).reshape(1, -1), "int16")  # MATLAB's 1 x n
    write_mat(os.path.join(OUT, "double.mat"), LABELS.astype(np.float64).reshape(-1, 1), "double")
    with h5py.File(os.path.join(OUT, "big.h5"), "w") as f:
        f.create_dataset("labels", data=np.array([0, 2**53 + 1, 1, 0, 1, 0], np.int64))
    np.save(os.path.join(OUT, "floats.npy"), LABELS.astype(np.float64))
    fractional = LABELS.astype(np.float64)
    fractional[3] = 0.5
    np.save(os.path.join(OUT, "fractional.npy"), fractional)
    nan = LABELS.astype(np.float32)
    nan[4] = np.nan
    np.save(os.path.join(OUT, "nan.npy"), nan)
    np.save(os.path.join(OUT, "matrix.npy"), LABELS.reshape(2, 3))
    write_mat(os.path.join(OUT, "times.mat"), TIMES.reshape(1, -1), "double", "times")
    np.save(os.path.join(OUT, "times_col.npy"), TIMES.reshape(-1, 1))
    with h5py.File(os.path.join(OUT, "steps.h5"), "w") as f:
        f.create_dataset("steps", data=STEPS)
    write_mat(os.path.join(OUT, "steps.mat"), STEPS.astype(np.float64).reshape(1, -1), "double", "steps")


main()
