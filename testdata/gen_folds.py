#!/usr/bin/python3
"""Write scikit-learn's GroupKFold and shuffled KFold folds, and numpy's argsort orders, into
testdata/folds/.

Run with Debian's interpreter (scikit-learn 1.2.1, numpy 1.24.2):

    /usr/bin/python3 testdata/gen_folds.py

GroupKFold deals groups, largest first, to the fold with the fewest rows so far. It orders the
groups by np.argsort(n_samples_per_group)[::-1], numpy's default sort: an introsort that is not
stable beyond 16 elements, so which of several equal-sized groups goes first, and to which fold,
follows numpy's algorithm. The cases here have many groups of equal sizes (the usual case: runs or
sessions of as many images each), where that order decides the folds.

groupkfold.json: cases of {groups, k, test: [[rows held out by fold f], ...]}
argsort.json:    cases of {values, quicksort: np.argsort(values), heapsort: np.argsort(values,
                 kind="heapsort")}, int64 values with many ties, of lengths on both sides of
                 numpy's insertion-sort cut-off (16) and long enough for deep partitioning;
                 heapsort is the introsort's fallback past its depth limit, and the cases
                 with "fallback" reach it.
kfold_shuffle.json: cases of {n, k, seed, fold: the fold of each row} of
                 KFold(k, shuffle=True, random_state=seed), at a study's size.
"""

import json
import os

import numpy as np
import sklearn
from sklearn.model_selection import GroupKFold, KFold

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "folds")


def groupkfold_cases(rng):
    cases = []
    # Equal-sized groups: sessions of as many images (NSD-like: 40 sessions), in order.
    for n_groups, size, k in [(17, 3, 5), (20, 4, 5), (40, 5, 5), (37, 2, 4), (64, 1, 10), (100, 3, 7)]:
        cases.append((np.repeat(np.arange(n_groups), size), k))
    # Groups of a few sizes, labels shuffled, rows interleaved.
    for _ in range(24):
        n_groups = int(rng.integers(17, 300))
        sizes = rng.choice([1, 2, 3, 5, 8], size=n_groups, p=[0.1, 0.3, 0.3, 0.2, 0.1])
        labels = rng.permutation(n_groups) * int(rng.choice([1, 3, 10])) - int(rng.integers(0, 5))
        groups = np.repeat(labels, sizes)
        if rng.random() < 0.5:
            groups = rng.permutation(groups)
        cases.append((groups, int(rng.integers(2, 11))))
    out = []
    for groups, k in cases:
        folds = [test.tolist() for _, test in GroupKFold(n_splits=k).split(groups, groups=groups)]
        out.append({"groups": groups.tolist(), "k": k, "test": folds})
    return out


def argsort_cases(rng):
    out = []
    for n in [1, 2, 15, 16, 17, 18, 31, 33, 64, 100, 257, 1000]:
        for distinct in [1, 2, 3, 7, n]:
            values = rng.integers(0, max(distinct, 1), size=n).astype(np.int64)
            out.append(
                {
                    "values": values.tolist(),
                    "quicksort": np.argsort(values).tolist(),
                    "heapsort": np.argsort(values, kind="heapsort").tolist(),
                }
            )
    # Inputs that drive the introsort past its depth limit into the heapsort fallback (its order
    # of ties too): McIlroy's adversary, played against numpy's own argsort, halved for pairs.
    for n in [64, 200, 1000]:
        for q in [1, 2]:
            values = adversary(n) // q
            out.append(
                {
                    "values": values.tolist(),
                    "quicksort": np.argsort(values).tolist(),
                    "heapsort": np.argsort(values, kind="heapsort").tolist(),
                    "fallback": True,
                }
            )
    # Sorted, reversed and organ-pipe inputs: the median-of-three's usual worst cases.
    for values in [np.arange(300) // 3, (np.arange(300) // 3)[::-1], np.r_[np.arange(150), np.arange(150)[::-1]] // 2]:
        values = np.ascontiguousarray(values, dtype=np.int64)
        out.append(
            {
                "values": values.tolist(),
                "quicksort": np.argsort(values).tolist(),
                "heapsort": np.argsort(values, kind="heapsort").tolist(),
            }
        )
    return out


def adversary(n):
    """McIlroy's "killer adversary for quicksort": values fixed as numpy's argsort compares them
    (of an object array: the same introsort through Python's comparisons), each comparison of two
    unfixed values fixing the one that is not the pivot candidate, so every partition is lopsided."""
    gas = n
    val = [gas] * n
    state = {"solid": 0, "candidate": 0}

    class Key:
        __slots__ = ("i",)

        def __init__(self, i):
            self.i = i

        def __lt__(self, other):
            x, y = self.i, other.i
            if val[x] == gas and val[y] == gas:
                frozen = x if x == state["candidate"] else y
                val[frozen] = state["solid"]
                state["solid"] += 1
            if val[x] == gas:
                state["candidate"] = x
            elif val[y] == gas:
                state["candidate"] = y
            return val[x] < val[y]

    keys = np.empty(n, dtype=object)
    for i in range(n):
        keys[i] = Key(i)
    np.argsort(keys)
    for i in range(n):
        if val[i] == gas:
            val[i] = state["solid"]
            state["solid"] += 1
    return np.array(val, dtype=np.int64)


def shuffled_kfold_cases():
    """KFold(k, shuffle=True, random_state=seed) at a study's size (THINGS-MEG's 22,448 images:
    thousands of draws, the generator's state regenerated dozens of times): each row's fold."""
    out = []
    for n, k, seed in [(22448, 5, 0), (1000, 10, 4294967295)]:
        fold = np.empty(n, dtype=np.int64)
        for f, (_, test) in enumerate(KFold(k, shuffle=True, random_state=seed).split(np.zeros(n))):
            fold[test] = f
        out.append({"n": n, "k": k, "seed": seed, "fold": fold.tolist()})
    return out


def write(name, cases):
    doc = {"numpy": np.__version__, "sklearn": sklearn.__version__, "cases": cases}
    path = os.path.join(OUT, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261207)
    write("groupkfold.json", groupkfold_cases(rng))
    write("argsort.json", argsort_cases(rng))
    write("kfold_shuffle.json", shuffled_kfold_cases())


if __name__ == "__main__":
    main()
