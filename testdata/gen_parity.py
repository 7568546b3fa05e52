#!/usr/bin/python3
"""Generate brainalign's parity fixtures from scikit-learn (DESIGN.md §2).

Run with Debian's scikit-learn (1.2.1) interpreter:

    /usr/bin/python3 testdata/gen_parity.py            # writes testdata/parity/<case>/
    /usr/bin/python3 testdata/gen_parity.py --time     # times sklearn on the medium benchmark,
                                                       # writes bench/sklearn_medium.json

Each case directory holds X.npy (n x d), Y.npy (n x m, or n x channels x times), case.json
(folds, alphas, inner, shared_alpha, intercept, description, versions) and the expected outputs
scores.npy (Y's trailing shape), fold_scores.npy and alphas.npy (folds x Y's trailing shape).

The expected numbers never come from brainalign: the outer loop is sklearn's KFold(k) (or, for
a case.json with test_fold, PredefinedSplit(test_fold): --test-fold's folds), the per-target
LOO penalty is sklearn's RidgeCV(alpha_per_target=True) (cv=None), the shared LOO penalty is
RidgeCV() and the shared inner K-fold penalty RidgeCV(cv=K) (GridSearchCV). Cases with
--standardize are make_pipeline(StandardScaler(with_mean=intercept), <the same>) in each outer
fold: the scaler fit on the outer training rows, the inner selection on its output. The
per-target gcv and kfold:K modes, which scikit-learn does not offer, use a brute-force search
over sklearn.linear_model.Ridge fits, one per penalty (and inner fold), with an explicit hat
matrix for GCV's trace (in 40-digit arithmetic where the penalties are far below the
features' scale with fewer rows than features).

Every case is checked for near-ties: if two penalties' selection criteria for one target are
closer than 1e-10 (relative) without being exactly equal, the case is regenerated with the next
seed, so float64 engines can be required to choose identical penalties.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import time

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, PredefinedSplit
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_GRID = list(np.logspace(0, 8, 9))
TIE_TOL = 1e-10


# ---------------------------------------------------------------------------------------------
# scoring helpers


def pearson(pred, y):
    """Pearson r per column; 0 where the prediction or the data has zero variance (np.std == 0)."""
    out = np.zeros(y.shape[1])
    degenerate = np.zeros(y.shape[1], dtype=bool)
    for t in range(y.shape[1]):
        p, v = pred[:, t], y[:, t]
        if np.std(p) == 0 or np.std(v) == 0:
            degenerate[t] = True
            continue
        out[t] = np.corrcoef(p, v)[0, 1]
    return out, degenerate


def margin_violations(crit, maximise):
    """crit: (n_alphas, m) selection criterion. Count targets whose best and runner-up values
    differ by less than TIE_TOL relative (exact ties are fine: they go to the first penalty)."""
    if crit.shape[0] < 2:
        return 0
    c = -crit if maximise else crit
    srt = np.sort(c, axis=0)
    best, second = srt[0], srt[1]
    gap = second - best
    scale = np.maximum(np.abs(best), np.abs(second))
    bad = (gap > 0) & (gap <= TIE_TOL * np.maximum(scale, 1e-300))
    return int(bad.sum())


def first_best(crit, alphas, maximise):
    """Per target, the first penalty (grid order) with the best criterion, strict updates."""
    alphas = np.asarray(alphas)
    best = crit[0].copy()
    idx = np.zeros(crit.shape[1], dtype=int)
    for i in range(1, crit.shape[0]):
        upd = crit[i] > best if maximise else crit[i] < best
        best[upd] = crit[i][upd]
        idx[upd] = i
    return alphas[idx]


# ---------------------------------------------------------------------------------------------
# inner selection references


def select_loo(X, Y, alphas, intercept, shared):
    """sklearn RidgeCV (cv=None): per target (alpha_per_target) or shared. Returns the fitted
    model's coefficients via predict, the chosen penalties (m) and a near-tie count."""
    model = RidgeCV(alphas=alphas, fit_intercept=intercept, alpha_per_target=not shared,
                    store_cv_values=True)
    model.fit(X, Y)
    cv = model.cv_values_.reshape(X.shape[0], Y.shape[1], len(alphas))  # squared LOO errors
    if shared:
        crit = cv.mean(axis=(0, 1))[:, None]
        chosen = np.full(Y.shape[1], float(model.alpha_))
    else:
        crit = cv.mean(axis=0).T
        chosen = np.asarray(model.alpha_, dtype=float).reshape(-1)
    # cross-check our reading of sklearn's rule (first best, strict) against its own choice
    ours = first_best(crit, alphas, maximise=False)
    if shared:
        ours = np.full(Y.shape[1], ours[0])
    assert np.array_equal(ours, chosen), "tie rule mismatch with sklearn"
    return model, chosen, margin_violations(crit, maximise=False)


def hat_trace(X, a, intercept):
    """tr(H) from an explicit hat matrix of ridge with an unpenalised intercept."""
    n = X.shape[0]
    if intercept:
        Xc = X - X.mean(axis=0)
        H = np.ones((n, n)) / n
    else:
        Xc = X
        H = np.zeros((n, n))
    d = X.shape[1]
    H = H + Xc @ np.linalg.solve(Xc.T @ Xc + a * np.eye(d), Xc.T)
    return np.trace(H)


def gcv_choice(crit, alphas, shared):
    """The penalties GCV criteria (n_alphas x m) choose, per target or shared (the criteria
    averaged over targets), and the near-tie count."""
    m = crit.shape[1]
    if shared:
        crit = crit.mean(axis=1, keepdims=True)
    chosen = first_best(crit, alphas, maximise=False)
    if shared:
        chosen = np.full(m, chosen[0])
    return chosen, margin_violations(crit, maximise=False)


def select_gcv(X, Y, alphas, intercept, shared):
    """Brute-force GCV: mean squared training residual / (1 - tr(H)/n)^2, one Ridge per penalty."""
    n = X.shape[0]
    crit = np.empty((len(alphas), Y.shape[1]))
    for i, a in enumerate(alphas):
        r = Ridge(alpha=a, fit_intercept=intercept, solver="svd").fit(X, Y)
        res = Y - r.predict(X)
        tr = hat_trace(X, a, intercept)
        crit[i] = (res ** 2).mean(axis=0) / (1 - tr / n) ** 2
    return gcv_choice(crit, alphas, shared)


def select_gcv_exact(X, Y, alphas, intercept, shared):
    """GCV in 40-digit arithmetic (mpmath) for fewer rows than features: the residual is
    a (K + aI)^-1 Yc (K = Xc Xc^T, its constant direction exactly null with an intercept) and
    1 - tr(H)/n = (tr(a (K + aI)^-1) - [1]) / n, both near 0 at penalties far below the features'
    scale, where float64's 1 - tr(H)/n keeps few digits."""
    import mpmath as mp
    mp.mp.dps = 40
    n = X.shape[0]
    Xc = X - X.mean(axis=0) if intercept else X
    K = mp.matrix((Xc @ Xc.T).tolist())
    if intercept:
        # centred exactly: float64's Xc Xc^T keeps ~1e-12 on the constant direction, which a
        # penalty of 1e-10 would take for signal
        P = mp.eye(n) - mp.ones(n, n) / n
        K = P * K * P
    Ym = mp.matrix(Y.tolist())
    if intercept:
        Ym = P * Ym  # centred exactly too: float64's centring leaves ~1e-16 on the constant direction
    crit = np.empty((len(alphas), Y.shape[1]))
    for i, a in enumerate(alphas):
        inv = mp.inverse(K + mp.mpf(a) * mp.eye(n))
        R = (mp.mpf(a) * inv) * Ym
        q = (mp.mpf(a) * sum(inv[k, k] for k in range(n)) - (1 if intercept else 0)) / n
        for t in range(Y.shape[1]):
            crit[i, t] = float(sum(R[k, t] ** 2 for k in range(n)) / n / q ** 2)
    return gcv_choice(crit, alphas, shared)


def r2_cols(y, p):
    return r2_score(y, p, multioutput="raw_values")  # constant y: 1.0 if perfect else 0.0


def select_kfold(X, Y, alphas, intercept, shared, K, score):
    """Brute-force inner KFold(K) (unshuffled, rows in order): mean inner-fold R^2 or Pearson per
    target, maximised, ties to the first penalty. Shared + r2 is RidgeCV(cv=K) itself."""
    if shared and score == "r2":
        model = RidgeCV(alphas=alphas, fit_intercept=intercept, cv=K).fit(X, Y)
        chosen = np.full(Y.shape[1], float(model.alpha_))
        # brute-force criterion only for the tie check
    crit = np.zeros((len(alphas), Y.shape[1]))
    for tr, va in KFold(K).split(X):
        for i, a in enumerate(alphas):
            p = Ridge(alpha=a, fit_intercept=intercept).fit(X[tr], Y[tr]).predict(X[va])
            crit[i] += r2_cols(Y[va], p) if score == "r2" else pearson(p, Y[va])[0]
    crit /= K
    if shared:
        crit = crit.mean(axis=1, keepdims=True)
    ours = first_best(crit, alphas, maximise=True)
    if shared:
        ours = np.full(Y.shape[1], ours[0])
        if score == "r2":
            assert np.array_equal(ours, chosen), "GridSearchCV choice differs from brute force"
    return ours, margin_violations(crit, maximise=True)


# ---------------------------------------------------------------------------------------------
# outer loop


def outer_splits(X, folds, test_fold=None):
    """The outer (train, test) splits: KFold(folds), or PredefinedSplit(test_fold) when given
    (--test-fold: rows labelled k >= 0 are held-out fold k, rows labelled -1 always train)."""
    if test_fold is not None:
        return list(PredefinedSplit(test_fold).split(X))
    return list(KFold(folds).split(X))


def reference(X, Y, folds, alphas, inner, shared, intercept, standardize=False, test_fold=None):
    """Outer KFold(folds), or PredefinedSplit(test_fold); returns fold_scores (k x m), alphas
    (k x m), degenerate (k x m), ties.
    With standardize, each training fold's features are scaled by sklearn's StandardScaler (fit
    on the training rows, applied to the held-out rows) before anything else, as
    make_pipeline(StandardScaler(), RidgeCV(...)) does."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m = Y.shape[1]
    fs = np.zeros((folds, m))
    fa = np.zeros((folds, m))
    deg = np.zeros((folds, m), dtype=bool)
    ties = 0
    for f, (tr, te) in enumerate(outer_splits(X, folds, test_fold)):
        Xt, Yt, Xte = X[tr], Y[tr], X[te]
        if standardize:
            scaler = StandardScaler(with_mean=intercept).fit(Xt)
            Xt, Xte = scaler.transform(Xt), scaler.transform(Xte)
        if inner == "loo":
            model, chosen, nt = select_loo(Xt, Yt, alphas, intercept, shared)
            pred = model.predict(Xte)
        else:
            if inner == "gcv" and Xt.shape[0] <= Xt.shape[1] and min(alphas) < 1e-3:
                chosen, nt = select_gcv_exact(Xt, Yt, alphas, intercept, shared)
            elif inner == "gcv":
                chosen, nt = select_gcv(Xt, Yt, alphas, intercept, shared)
            else:
                parts = inner.split(":")
                K = int(parts[1])
                score = parts[2] if len(parts) == 3 else "r2"
                chosen, nt = select_kfold(Xt, Yt, alphas, intercept, shared, K, score)
            # refit each target at its penalty with sklearn's Ridge
            pred = np.empty((len(te), m))
            for a in np.unique(chosen):
                cols = np.flatnonzero(chosen == a)
                r = Ridge(alpha=a, fit_intercept=intercept).fit(Xt, Yt[:, cols])
                pred[:, cols] = r.predict(Xte).reshape(len(te), -1)
        pred = pred.reshape(len(te), m)
        fs[f], deg[f] = pearson(pred, Y[te])
        fa[f] = chosen
        ties += nt
    return fs, fa, deg, ties


# ---------------------------------------------------------------------------------------------
# data


def features(rng, n, d, decay=0.03):
    """Gaussian activations with a decaying spectrum (so penalties across the grid matter)."""
    Z = rng.standard_normal((n, d))
    scale = np.exp(-decay * np.arange(d))
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (Z * scale) @ Q.T + 0.05 * rng.standard_normal((n, d))


def targets(rng, X, m, snr_lo=0.05, snr_hi=5.0):
    """y = X w * gain + noise with gains spread from snr_lo to snr_hi (mixed signal-to-noise)."""
    n, d = X.shape
    W = rng.standard_normal((d, m)) / np.sqrt(d)
    signal = X @ W
    signal /= signal.std(axis=0, keepdims=True)
    gain = np.logspace(np.log10(snr_lo), np.log10(snr_hi), m)
    rng.shuffle(gain)
    return signal * gain + rng.standard_normal((n, m)) + rng.normal(0, 3, size=m)


def make_case(name, seed):
    """Build (X, Y, spec) for one named case with a seed."""
    rng = np.random.default_rng(seed)
    spec = dict(folds=5, alphas=DEFAULT_GRID, inner="loo", shared_alpha=False, intercept=True,
                standardize=False)

    def basic(n, d, m, **kw):
        X = features(rng, n, d)
        return X, targets(rng, X, m, **kw)

    if name == "n_gt_d":
        X, Y = basic(200, 40, 60)
        desc = "n > d (200 x 40, 60 targets), default grid, exact LOO"
    elif name == "n_lt_d":
        X, Y = basic(80, 200, 50)
        desc = "n < d (80 x 200): sklearn's gram (eigen) mode"
    elif name in ("n_train_eq_d", "n_train_eq_d_minus1", "n_train_eq_d_plus1"):
        d = {"n_train_eq_d": 80, "n_train_eq_d_minus1": 79, "n_train_eq_d_plus1": 81}[name]
        X, Y = basic(100, d, 40)
        desc = "n_train (80) close to d (%d): the boundary between the two decompositions" % d
    elif name == "near_exact_n_lt_d":
        n, d, m = 40, 200, 30
        X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d) + rng.standard_normal(d)
        Y = X @ rng.standard_normal((d, m)) * rng.uniform(0.01, 1, m) + 3 * rng.standard_normal((n, m)) + 5
        desc = ("n < d (40 x 200) with feature scales 0.1..10 and strong signal: near-exact fits whose "
                "leave-one-out residuals at small penalties are small differences of large terms")
    elif name == "collinear":
        base = features(rng, 150, 30)
        dup = base[:, :15] * 1.0  # exact duplicates
        comb = base[:, :10] @ rng.standard_normal((10, 15))  # linear combinations
        X = np.hstack([base, dup, comb])[:, rng.permutation(60)]
        Y = targets(rng, base, 50)
        desc = "rank-deficient: 60 features of rank 30 (duplicated columns and linear combinations)"
    elif name == "scales":
        Z = features(rng, 150, 40)
        X = Z * np.logspace(-3, 3, 40) + 1e4
        # targets driven by all features equally, with a BOLD-like baseline of 1e4 (4 decimal
        # digits above the unit-variance fluctuations, well within float32's 7)
        Y = targets(rng, Z, 50) + 1e4
        desc = ("feature scales 1e-3..1e3 with offsets +1e4 (centre X in float64 before any float32 "
                "product) and targets with a baseline of +1e4")
    elif name == "constant_targets":
        X, Y = basic(120, 30, 40)
        # fully constant columns, exactly representable so centring is exact
        for j, c in zip([0, 7, 19, 33], [0.0, 2.5, -3.0, 1024.0]):
            Y[:, j] = c
        # constant only on the held-out rows of fold 2 (rows 48..71): degenerate data on that fold
        Y[48:72, 11] = 1.5
        # constant everywhere except fold 3's rows (72..95): constant training data for fold 3
        # (constant prediction there) and constant held-out data on the other four folds
        keep = Y[72:96, 25].copy()
        Y[:, 25] = -0.75
        Y[72:96, 25] = keep
        desc = ("constant target columns (0, 2.5, -3, 1024), a target constant only in held-out fold "
                "2, and a target constant everywhere but fold 3 (constant prediction on fold 3, constant data elsewhere)")
    elif name == "no_intercept":
        X, Y = basic(150, 30, 40)
        X = X + rng.normal(0, 1, 30)
        spec["intercept"] = False
        desc = "fit_intercept=False (--no-intercept) with non-zero-mean data"
    elif name == "folds3":
        X, Y = basic(100, 25, 40)
        spec["folds"] = 3
        desc = "3 outer folds, n=100 (first fold one row larger)"
    elif name == "folds10":
        X, Y = basic(107, 20, 30)
        spec["folds"] = 10
        desc = "10 outer folds, n=107 (first 7 folds one row larger)"
    elif name == "one_alpha":
        X, Y = basic(100, 30, 30)
        spec["alphas"] = [100.0]
        desc = "a one-value grid [100]"
    elif name == "descending":
        X, Y = basic(120, 30, 40)
        Y[:, 3] = 4.0
        Y[:, 17] = -1.25
        spec["alphas"] = DEFAULT_GRID[::-1]
        desc = ("descending grid 1e8..1: ties (constant targets 3 and 17) go to the FIRST penalty in "
                "grid order, 1e8")
    elif name == "float32_input":
        X, Y = basic(150, 40, 50)
        X, Y = X.astype(np.float32), Y.astype(np.float32)
        desc = "float32 X and Y (.npy float32); reference on the same values widened to float64"
    elif name == "many_targets":
        X, Y = basic(200, 50, 200, snr_lo=0.01, snr_hi=10.0)
        desc = "200 targets with signal-to-noise from 0.01 to 10"
    elif name == "meg3d":
        X = features(rng, 140, 32)
        Y = targets(rng, X, 8 * 12).reshape(140, 8, 12)
        desc = "3-D brain data (n, 8 channels, 12 times) flattened in C order to 96 targets"
    elif name == "gcv":
        X, Y = basic(120, 30, 40)
        spec["inner"] = "gcv"
        desc = "inner gcv (per target), brute force: residual MSE / (1 - tr(H)/n)^2"
    elif name == "gcv_n_lt_d":
        X, Y = basic(70, 120, 30)
        spec["inner"] = "gcv"
        desc = "inner gcv with n < d"
    elif name == "gcv_n_lt_d_repeated":
        X = features(rng, 70, 120)
        X[50:65] = X[5:20]  # 15 images shown twice: each training fold's kernel loses a direction a pair
        Y = targets(rng, X, 30)
        spec["inner"] = "gcv"
        desc = ("inner gcv with n < d and repeated images: the training folds' rank is below "
                "their rows less one, so GCV's trace counts null directions beside the constant one")
    elif name == "loo_n_lt_d_repeated":
        X = features(rng, 70, 120)
        X[50:65] = X[5:20]  # 15 images shown twice, each time with its own noise in Y
        Y = targets(rng, X, 30, snr_lo=1.0, snr_hi=30.0)
        desc = ("exact LOO with n < d and repeated images, strong signal: the training folds' rank is "
                "below their rows less one, and at the small penalties that fit best the residual is "
                "taken directly, U diag(1-f) Z plus the part of Y outside the rows' span (its null "
                "directions: the repeats' differences)")
    elif name == "gcv_no_intercept":
        X, Y = basic(100, 25, 30)
        X = X + 0.5
        spec["inner"] = "gcv"
        spec["intercept"] = False
        desc = "inner gcv without intercept"
    elif name == "kfold5_r2":
        X, Y = basic(150, 30, 40)
        spec["inner"] = "kfold:5"
        desc = "inner KFold(5) per target, R^2 (sklearn r2_score), brute force over Ridge fits"
    elif name == "kfold3_pearson":
        X, Y = basic(120, 60, 40)
        spec["inner"] = "kfold:3:pearson"
        desc = "inner KFold(3) per target, Pearson r, n_train < d"
    elif name == "kfold4_constant":
        X, Y = basic(100, 20, 30)
        Y[:, 5] = 0.5
        Y[:, 9] = -2.0
        spec["inner"] = "kfold:4"
        desc = "inner KFold(4) R^2 with constant targets (R^2 of a perfect constant fit is 1)"
    elif name in ("kfold4_partly_constant", "kfold4_partly_constant_pearson"):
        # n = 100, 5 outer folds: 80 training rows, inner KFold(4) of 20-row validation splits
        # (the training rows in order) and 60-row inner training splits. The constants are
        # dyadic, so scikit-learn's own means of them are exact.
        X, Y = basic(100, 20, 30)
        Y[:40, 3] = 1.0     # covers an inner validation split in every outer fold
        Y[40:, 7] = -2.0    # an inner training split of outer folds 0 and 1 (rows 40..99)
        Y[20:, 11] = 0.5    # outer fold 0's whole training fold; inner splits of the others
        Y[30:75, 13] = 0.75  # a run in the middle: validation splits of folds 0, 3 and 4
        Y[:60, 17] = -0.25  # inner training splits of outer folds 3 and 4 (rows 0..59)
        # binary 0/1 targets, sparse: most 20-row validation splits all 0
        Y[:, 20:26] = (rng.random((100, 6)) < 0.06).astype(float)
        Y[[3, 25], 20] = 1.0
        # ones only in rows 0..19: the inner training rows of outer folds 1..4's first split are
        # all 0 (and their other validation splits, and outer fold 0's whole training fold)
        Y[:, 26] = 0.0
        Y[[2, 9, 15], 26] = 1.0
        # ones only in rows 80..99, with a few in the middle
        Y[:, 27] = 0.0
        Y[[41, 83, 88, 97], 27] = 1.0
        if name == "kfold4_partly_constant_pearson":
            spec["inner"] = "kfold:4:pearson"
            # at penalties far above the features' scale the predictions shrink almost
            # uniformly, so their r barely moves between 1e7 and 1e8 (by ~1e-6): float32
            # products (OpenBLAS's or the pure-Go ones) may pick either for a few targets
            spec["agree32"] = 0.95
            desc = ("inner KFold(4) Pearson r with targets constant on runs of rows (whole inner "
                    "training splits: a constant prediction, r 0 at every penalty) and sparse 0/1 targets")
        else:
            spec["inner"] = "kfold:4"
            desc = ("inner KFold(4) R^2 with targets constant on runs of rows (whole inner validation "
                    "splits: R^2 0 unless predicted exactly, as r2_score's force_finite) and sparse 0/1 targets")
    elif name == "shared_loo":
        X, Y = basic(120, 30, 40)
        spec["shared_alpha"] = True
        desc = "--shared-alpha with LOO: sklearn RidgeCV() (mean LOO error over all targets)"
    elif name == "shared_kfold5":
        X, Y = basic(120, 30, 40)
        spec["shared_alpha"] = True
        spec["inner"] = "kfold:5"
        desc = "--shared-alpha with kfold:5: sklearn RidgeCV(cv=5) (GridSearchCV, mean R^2)"
    elif name in ("small_alpha_n_lt_d", "small_alpha_gcv"):
        X, Y = basic(50, 600, 30)
        X = 10 * X
        spec["alphas"] = [1e-10, 1e-5, 1e-2, 1.0]
        # float32 products cannot tell these penalties apart (their criteria differ in the 9th
        # digit and beyond): the scores must agree (Tol32), not the penalties (the CPU engine
        # picks scikit-learn's 89% of the time, the CUDA engine on cudasim 67%)
        spec["agree32"] = 0.6
        if name == "small_alpha_gcv":
            spec["inner"] = "gcv"
        desc = ("n < d (50 x 600, features x10) with penalties 1e-10..1, far below the features' "
                "scale: leverages near 1, so 1 - h (and GCV's 1 - tr(H)/n) must be summed, not "
                "subtracted from 1")
    elif name.startswith("standardize_"):
        spec["standardize"] = True
        if name == "standardize_scales":
            # features of scales 1e-3..1e5 on offsets of 1e4 (s_max ~ 1e6: without standardising,
            # the smallest features' directions are below the decomposition's rank tolerance),
            # a feature constant everywhere and one constant on the first fold's training rows
            # only (rows 0..29, its held-out rows, vary): StandardScaler leaves constant
            # features unscaled. The constants are not dyadic, so their computed means are not
            # exact and the centred columns hold rounding errors (~1e-17) that dividing by
            # their standard deviation would blow up to unit scale.
            Z = features(rng, 150, 40)
            X = Z * np.logspace(-3, 5, 40) + 1e4
            X[:, 7] = 0.1
            X[30:, 21] = 0.7
            Y = targets(rng, Z, 50)
            desc = ("--standardize: feature scales 1e-3..1e5 on offsets of 1e4, a constant feature and "
                    "one constant on the first fold's training rows only")
        elif name == "standardize_n_lt_d":
            Z = features(rng, 80, 200)
            X = Z * rng.uniform(0.01, 100, 200)
            Y = targets(rng, Z, 40)
            desc = "--standardize with n < d (80 x 200), feature scales 0.01..100"
        elif name == "standardize_kfold3":
            Z = features(rng, 120, 30)
            X = Z * np.logspace(-2, 2, 30)
            Y = targets(rng, Z, 40)
            spec["inner"] = "kfold:3"
            desc = ("--standardize with inner KFold(3) R^2: the inner splits use the outer training "
                    "fold's scaling (a Pipeline's StandardScaler, then RidgeCV(cv=3)'s own centring)")
        elif name == "standardize_gcv_no_intercept":
            Z = features(rng, 100, 25)
            X = Z * np.logspace(-2, 2, 25) + 0.5
            Y = targets(rng, Z, 30)
            spec["inner"] = "gcv"
            spec["intercept"] = False
            desc = ("--standardize without intercept, inner gcv: StandardScaler(with_mean=False) "
                    "divides by the standard deviation without centring")
        elif name == "standardize_offsets_n_lt_d":
            # 20 features of spread ~1e-4 on offsets of 1e8: their computed means are off by
            # ~1e-4 of their spread, which scaling brings to unit scale; RidgeCV centres the
            # scaler's output again (an off-centre Xc keeps the intercept's constant direction)
            Z = features(rng, 80, 150)
            X = Z * rng.uniform(0.01, 100, 150)
            X[:, :20] = Z[:, :20] * 1e-3 + 1e8
            Y = targets(rng, Z, 30)
            desc = ("--standardize with n < d (80 x 150), 20 features of spread ~1e-4 on offsets "
                    "of 1e8")
        elif name == "standardize_offsets_gcv":
            # spreads ~3e-5 on offsets of 1e9: the variance about the computed mean is off by
            # that mean's error squared unless corrected, as StandardScaler corrects it
            Z = features(rng, 150, 30)
            X = Z * 1e-4 + 1e9
            Y = targets(rng, Z, 30)
            spec["inner"] = "gcv"
            desc = "--standardize, inner gcv, every feature of spread ~3e-5 on an offset of 1e9"
        else:
            raise ValueError(name)
    elif name == "outlier_brain_row":
        X, Y = basic(120, 20, 30)
        Y[37] *= 1e9
        desc = ("one row of the brain data 1e9 times the others (an artefact): the training means of "
                "the folds that hold it out are far from the means over all rows")
    elif name in ("outlier_brain_row_kfold4", "outlier_brain_row_kfold4_pearson"):
        # n = 100, 5 outer folds: the folds that train on row 37 hold it in one inner KFold(4)
        # split's rows (20 validation rows, 60 training rows) and their means moved far from
        # every other row
        X, Y = basic(100, 20, 30)
        Y[37] *= 1e9
        spec["inner"] = "kfold:4" if name == "outlier_brain_row_kfold4" else "kfold:4:pearson"
        desc = ("one row of the brain data 1e9 times the others with inner KFold(4) (%s): the inner "
                "splits' targets are centred on their own training rows, not the outer fold's"
                % ("R^2" if name == "outlier_brain_row_kfold4" else "Pearson r"))
    elif name == "shifted_test_set":
        # a fixed test set (PredefinedSplit: rows 120..149 held out, the others always train)
        # whose activations sit 1e5 from the training rows' along one direction, with the same
        # spread as theirs: the held-out projections share an offset 1e5 times their spread
        X, Y = basic(150, 20, 30)
        X[120:] += 1e5 * rng.uniform(1, 2, 20)
        spec["folds"] = 1
        spec["test_fold"] = [-1] * 120 + [0] * 30
        desc = ("a fixed test set (--test-fold) whose activations are offset by 1e5 from the training "
                "rows', whose spread is 1")
    else:
        raise ValueError(name)
    spec["alphas"] = [float(a) for a in spec["alphas"]]
    spec["description"] = desc
    return X, Y, spec


CASES = ["n_gt_d", "n_lt_d", "n_train_eq_d", "n_train_eq_d_minus1", "n_train_eq_d_plus1",
         "collinear", "scales", "constant_targets", "no_intercept", "folds3", "folds10",
         "one_alpha", "descending", "float32_input", "many_targets", "meg3d", "gcv", "gcv_n_lt_d",
         "gcv_no_intercept", "kfold5_r2", "kfold3_pearson", "kfold4_constant", "shared_loo",
         "shared_kfold5", "near_exact_n_lt_d", "small_alpha_n_lt_d", "small_alpha_gcv",
         "kfold4_partly_constant", "kfold4_partly_constant_pearson",
         "standardize_scales", "standardize_n_lt_d", "standardize_kfold3",
         "standardize_gcv_no_intercept", "standardize_offsets_n_lt_d", "standardize_offsets_gcv",
         "shifted_test_set", "outlier_brain_row", "outlier_brain_row_kfold4",
         "outlier_brain_row_kfold4_pearson", "gcv_n_lt_d_repeated", "loo_n_lt_d_repeated"]


# cases whose training designs have a clear numerical rank, which the suite checks (float64)
RANK_CASES = {"n_gt_d", "n_lt_d", "n_train_eq_d", "n_train_eq_d_minus1", "n_train_eq_d_plus1",
              "collinear", "no_intercept", "many_targets"}


def train_ranks(X, folds, intercept, test_fold=None):
    """numpy matrix_rank of each training fold's design (centred when fitting an intercept), and
    the smallest relative singular value kept / the largest dropped over the folds."""
    ranks, kept, dropped = [], 1.0, 0.0
    for tr, _ in outer_splits(X, folds, test_fold):
        Xt = X[tr] - X[tr].mean(axis=0) if intercept else X[tr]
        r = int(np.linalg.matrix_rank(Xt))
        s = np.linalg.svd(Xt, compute_uv=False)
        s = s / s[0]
        kept = min(kept, s[r - 1])
        if r < len(s):
            dropped = max(dropped, s[r])
        ranks.append(r)
    return ranks, (kept, dropped)


def generate(outdir, only=None):
    if os.path.isdir(outdir) and not only:
        shutil.rmtree(outdir)
    os.makedirs(outdir, exist_ok=True)
    for ci, name in enumerate(CASES):
        if only and name not in only:
            continue
        for attempt in range(20):
            seed = 1000 * ci + attempt
            X, Y, spec = make_case(name, seed)
            n = X.shape[0]
            Y2 = Y.reshape(n, -1)
            fs, fa, deg, ties = reference(X, Y2, spec["folds"], spec["alphas"], spec["inner"],
                                          spec["shared_alpha"], spec["intercept"], spec["standardize"],
                                          spec.get("test_fold"))
            if ties == 0:
                break
            print("  %s seed %d: %d near-ties, regenerating" % (name, seed, ties))
        else:
            raise RuntimeError("%s: could not avoid near-ties" % name)
        trailing = Y.shape[1:]
        ranks, gaps = train_ranks(np.asarray(X, dtype=np.float64), spec["folds"], spec["intercept"],
                                  spec.get("test_fold"))
        check_rank = name in RANK_CASES
        if check_rank:
            # a clear gap, so any sensible relative tolerance (eps*n .. 1e-7) makes the same decision
            assert gaps[0] > 1e-6 and gaps[1] < 1e-12, (name, gaps)
        d = os.path.join(outdir, name)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "X.npy"), X)
        np.save(os.path.join(d, "Y.npy"), Y)
        np.save(os.path.join(d, "scores.npy"), fs.mean(axis=0).reshape(trailing))
        np.save(os.path.join(d, "fold_scores.npy"), fs.reshape((spec["folds"],) + trailing))
        np.save(os.path.join(d, "alphas.npy"), fa.reshape((spec["folds"],) + trailing))
        spec.update(
            name=name,
            seed=seed,
            n=int(n), d=int(X.shape[1]), m=int(Y2.shape[1]),
            y_shape=[int(s) for s in Y.shape],
            dtype=str(X.dtype),
            degenerate=int(deg.sum()),
            train_rank=ranks,
            check_rank=check_rank,
            degenerate_targets=int(deg.any(axis=0).sum()),
            reference=("sklearn RidgeCV" if spec["inner"] == "loo" or
                       (spec["shared_alpha"] and spec["inner"].count(":") == 1) else
                       "brute force over sklearn Ridge"),
            sklearn=sklearn.__version__, numpy=np.__version__, scipy=scipy.__version__,
        )
        with open(os.path.join(d, "case.json"), "w") as fh:
            json.dump(spec, fh, indent=1)
            fh.write("\n")
        print("%-22s n=%d d=%d m=%d k=%d inner=%s shared=%s icpt=%s mean r=%.3f distinct alphas=%d deg=%d" % (
            name, n, X.shape[1], Y2.shape[1], spec["folds"], spec["inner"], spec["shared_alpha"],
            spec["intercept"], fs.mean(), len(np.unique(fa)), deg.sum()))


# ---------------------------------------------------------------------------------------------
# timing


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def time_medium(out):
    """sklearn on the medium benchmark: n=2000, d=512, m=20000, KFold(5), 9 penalties, exact
    LOO per target (RidgeCV alpha_per_target), float64, random data of seed 0."""
    n, d, m, k = 2000, 512, 20000, 5
    rng = np.random.default_rng(0)
    X = features(rng, n, d, decay=0.005)
    Y = targets(rng, X, m)
    grid = DEFAULT_GRID
    t0 = time.perf_counter()
    scores = np.zeros(m)
    for tr, te in KFold(k).split(X):
        model = RidgeCV(alphas=grid, alpha_per_target=True, fit_intercept=True).fit(X[tr], Y[tr])
        pred = model.predict(X[te])
        scores += pearson(pred, Y[te])[0] / k
    seconds = time.perf_counter() - t0
    info = dict(
        problem=dict(n=n, d=d, m=m, folds=k, alphas=len(grid), inner="loo", dtype="float64",
                     estimator="RidgeCV(alphas=logspace(0,8,9), alpha_per_target=True) in KFold(5)"),
        seconds=round(seconds, 3),
        mean_score=float(scores.mean()),
        machine=dict(cpu=cpu_model(), cores=os.cpu_count(), platform=platform.platform(),
                     python=platform.python_version()),
        sklearn=sklearn.__version__, numpy=np.__version__, scipy=scipy.__version__,
        openblas_env={k_: v for k_, v in os.environ.items() if k_.startswith("OPENBLAS")},
        note="OPENBLAS_* variables as found in the environment (unset means OpenBLAS defaults)",
    )
    try:
        info["threadpool"] = __import__("threadpoolctl").threadpool_info()
    except Exception:  # threadpoolctl is optional
        pass
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(info, fh, indent=1)
        fh.write("\n")
    print(json.dumps(info, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "parity"))
    ap.add_argument("--case", action="append", help="regenerate only these cases")
    ap.add_argument("--time", action="store_true", help="time sklearn on the medium problem")
    ap.add_argument("--time-out", default=os.path.join(ROOT, "bench", "sklearn_medium.json"))
    args = ap.parse_args()
    if args.time:
        time_medium(args.time_out)
    else:
        generate(args.out, args.case)


if __name__ == "__main__":
    sys.exit(main())
