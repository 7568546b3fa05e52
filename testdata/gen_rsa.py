#!/usr/bin/python3
"""Write the SciPy/NumPy reference fixtures for package rsa into testdata/rsa/.

Run with Debian's interpreter, which has SciPy and NumPy:

    /usr/bin/python3 testdata/gen_rsa.py

Each case holds small matrices X (n x d) and Y (n x m) and, computed independently of the Go
code: their RDMs by scipy.spatial.distance.pdist (correlation and euclidean), the Spearman
(scipy.stats.spearmanr) and Pearson (scipy.stats.pearsonr) correlations of the RDMs, and linear
CKA written out in NumPy from the feature-space formula of Kornblith et al. 2019,
||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), with Xc, Yc column-centred (the Go code uses
the n x n Gram matrices instead: the same number in exact arithmetic).

Debiased linear CKA (cka_debiased; Song et al. 2012's unbiased HSIC, as in Kornblith's
cka(..., debiased=True)) is computed straight from the Gram-matrix formula: with K = X X^T and
L = Y Y^T the Gram matrices of the data as given (not centred: the unbiased estimator does not
depend on the data's means, where the Go code uses the centred ones), K~ and L~ them with zeroed
diagonals, and n >= 4,

    HSIC_1(K, L) = [tr(K~ L~) + 1^T K~ 1 1^T L~ 1 / ((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1] / (n(n-3)),
    CKA_1 = HSIC_1(K, L) / sqrt(HSIC_1(K, K) HSIC_1(L, L)),

in exact rational arithmetic (NumPy object arrays of fractions.Fraction; every float64 input is
a rational number), rounded once at the end: exact to float64's last bit. With 3 stimuli it is
undefined (null).

affine_ties.json: stimuli whose patterns are copies of a few base patterns, each scaled by a
positive factor and shifted, so that the correlation distance of two stimuli is exactly that of
their bases (0 for the same base). Its reference is spearmanr of that exact RDM, looked up from
pdist of the bases; spearmanr of pdist of the stimuli themselves (also recorded) breaks those
ties by rounding (0 beside 2.2e-16), so it is not the reference there.
"""

import json
import math
import os
from fractions import Fraction

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import pdist

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rsa")


def linear_cka(x, y):
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    num = np.linalg.norm(yc.T @ xc, "fro") ** 2
    return num / (np.linalg.norm(xc.T @ xc, "fro") * np.linalg.norm(yc.T @ yc, "fro"))


def unbiased_hsic_times_n_n3(k, l):
    """n(n-3) HSIC_1(K, L) for Gram matrices k and l (object arrays of Fractions)."""
    n = k.shape[0]
    kt, lt = k.copy(), l.copy()
    for i in range(n):
        kt[i, i] = lt[i, i] = Fraction(0)
    one = np.full(n, Fraction(1), dtype=object)
    return (np.trace(kt @ lt) + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
            - Fraction(2, n - 2) * (one @ kt @ lt @ one))


def debiased_cka(x, y):
    n = x.shape[0]
    if n < 4:
        return None
    xf = np.vectorize(Fraction, otypes=[object])(x)
    yf = np.vectorize(Fraction, otypes=[object])(y)
    k, l = xf @ xf.T, yf @ yf.T
    kl = unbiased_hsic_times_n_n3(k, l)
    kk = unbiased_hsic_times_n_n3(k, k)
    ll = unbiased_hsic_times_n_n3(l, l)
    assert kk > 0 and ll > 0, (kk, ll)
    # the square of CKA is exact; one rounding to float64, one correctly rounded square root
    sign = 1 if kl >= 0 else -1
    return sign * math.sqrt(float(kl * kl / (kk * ll)))


def case(name, x, y):
    out = {"name": name, "n": x.shape[0], "d": x.shape[1], "m": y.shape[1],
           "x": x.ravel().tolist(), "y": y.ravel().tolist()}
    for metric in ("correlation", "euclidean"):
        rx, ry = pdist(x, metric), pdist(y, metric)
        out["rdm_x_" + metric] = rx.tolist()
        out["rdm_y_" + metric] = ry.tolist()
        out["spearman_" + metric] = float(stats.spearmanr(rx, ry).correlation)
        out["pearson_" + metric] = float(stats.pearsonr(rx, ry)[0])
    out["cka"] = float(linear_cka(x, y))
    out["cka_debiased"] = debiased_cka(x, y)
    return out


def main():
    rng = np.random.default_rng(20240611)
    cases = []
    # generic: a noisy linear map, features and targets of other widths
    x = rng.standard_normal((12, 7))
    y = x @ rng.standard_normal((7, 9)) + 0.8 * rng.standard_normal((12, 9))
    cases.append(case("noisy linear map", x, y))
    # more features than stimuli, rows far from zero and of unequal scales
    x = 50 + rng.standard_normal((9, 23)) * rng.uniform(0.5, 3, size=(9, 1))
    y = rng.standard_normal((9, 4)) * 1e-3
    cases.append(case("offset rows, tiny targets", x, y))
    # small integers: tied distances, ranked on average as spearmanr does
    x = rng.integers(0, 3, size=(10, 3)).astype(float)
    y = rng.integers(0, 2, size=(10, 4)).astype(float)
    for a in (x, y):  # no constant row (correlation distance undefined)
        for i in range(a.shape[0]):
            if np.ptp(a[i]) == 0:
                a[i, 0] += 1
    cases.append(case("integer data with ties", x, y))
    # the fewest stimuli
    x = rng.standard_normal((3, 5))
    y = rng.standard_normal((3, 2))
    cases.append(case("three stimuli", x, y))
    # the fewest stimuli of debiased CKA
    x = rng.standard_normal((4, 3))
    y = rng.standard_normal((4, 5))
    cases.append(case("four stimuli", x, y))
    # many features, few stimuli, unrelated: biased CKA is high, debiased CKA near 0
    x = rng.standard_normal((16, 200))
    y = rng.standard_normal((16, 150))
    cases.append(case("unrelated, features >> stimuli", x, y))
    os.makedirs(OUT, exist_ok=True)
    doc = {"generator": "testdata/gen_rsa.py", "scipy": scipy.__version__, "numpy": np.__version__, "cases": cases}
    with open(os.path.join(OUT, "rsa.json"), "w") as f:
        json.dump(doc, f, allow_nan=False)
        f.write("\n")


def affine_ties():
    """Rows that are positive affine copies of base rows: exact ties in the correlation RDM."""
    from scipy.spatial.distance import squareform
    rng = np.random.default_rng(20261207)
    n, p, nb = 60, 30, 4
    base = rng.standard_normal((nb, p))
    c = rng.integers(0, nb, size=n)
    x = rng.uniform(0.5, 3, size=(n, 1)) * base[c] + rng.normal(0, 20, size=(n, 1))
    y = rng.standard_normal((nb, 8))[c] + 2 * rng.standard_normal((n, 8))
    iu = np.triu_indices(n, 1)
    exact = squareform(pdist(base, "correlation"))[c[iu[0]], c[iu[1]]]
    ry = pdist(y, "correlation")
    doc = {"generator": "testdata/gen_rsa.py", "scipy": scipy.__version__, "numpy": np.__version__,
           "n": n, "d": p, "m": y.shape[1], "x": x.ravel().tolist(), "y": y.ravel().tolist(),
           "spearman_exact": float(stats.spearmanr(exact, ry).correlation),
           "spearman_scipy_pdist": float(stats.spearmanr(pdist(x, "correlation"), ry).correlation)}
    with open(os.path.join(OUT, "affine_ties.json"), "w") as f:
        json.dump(doc, f, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
    affine_ties()
