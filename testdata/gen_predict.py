#!/usr/bin/python3
"""Generate brainalign's prediction fixtures from scikit-learn (brainalign predict).

Run with Debian's scikit-learn (1.2.1) interpreter:

    /usr/bin/python3 testdata/gen_predict.py       # writes testdata/predict/<case>/
    /usr/bin/python3 testdata/gen_predict.py --case standardize_scales   # only these cases

Each case fits ridge on every row of X.npy (n x d) and Y.npy (n x m, or n x channels x times),
choosing the penalty per target (or one shared) as brainalign's inner modes do, and predicts the
rows of X_new.npy (new stimuli, no brain data). Expected outputs: predictions.npy (new rows x Y's
trailing shape, in Y's units: intercepts included), alphas.npy (Y's trailing shape), and the fitted
model: weights.npy (d x Y's trailing shape, sklearn's coef_ transposed) and intercepts.npy (Y's
trailing shape, intercept_; zeros without an intercept); case.json
holds alphas (the grid), inner, shared_alpha, intercept, description and versions.

The expected numbers never come from brainalign: per-target leave-one-out is scikit-learn's
RidgeCV(alpha_per_target=True).fit(X, Y).predict(X_new) itself, the shared one RidgeCV(); gcv
and kfold:K use gen_parity.py's brute-force selection over sklearn Ridge fits, then
Ridge(alpha).fit(X, Y).predict(X_new) per chosen penalty. Cases with --standardize fit
make_pipeline(StandardScaler(with_mean=intercept), <the same>): the model is then given in the
features' own units, coef_ / scale_ and intercept_ - (mean_ / scale_) coef_. Cases with near-ties between two
penalties' criteria are regenerated with the next seed (as gen_parity.py does).
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_parity as gp  # noqa: E402  (the data generators and inner-selection references)


def make_case(name, seed):
    """(X, Y, X_new, spec) for one named case."""
    rng = np.random.default_rng(seed)
    spec = dict(alphas=gp.DEFAULT_GRID, inner="loo", shared_alpha=False, intercept=True,
                standardize=False)

    def basic(n, nnew, d, m):
        X = gp.features(rng, n + nnew, d)
        Y = gp.targets(rng, X, m)
        return X[:n], Y[:n], X[n:]

    if name == "loo_n_gt_d":
        X, Y, Xn = basic(160, 40, 40, 60)
        desc = "per-target LOO, n > d (160 x 40), 40 new rows: RidgeCV(alpha_per_target=True).predict"
    elif name == "loo_n_lt_d":
        X, Y, Xn = basic(80, 25, 200, 40)
        desc = "per-target LOO, n < d (80 x 200): the dual decomposition"
    elif name == "shared_loo":
        X, Y, Xn = basic(120, 30, 30, 40)
        spec["shared_alpha"] = True
        desc = "--shared-alpha: RidgeCV().predict"
    elif name == "no_intercept":
        X, Y, Xn = basic(150, 30, 30, 40)
        shift = rng.normal(0, 1, 30)
        X, Xn = X + shift, Xn + shift
        spec["intercept"] = False
        desc = "fit_intercept=False with non-zero-mean features"
    elif name == "gcv":
        X, Y, Xn = basic(120, 20, 30, 40)
        spec["inner"] = "gcv"
        desc = "inner gcv per target (brute force), then Ridge(alpha).predict"
    elif name == "kfold5_r2":
        X, Y, Xn = basic(150, 20, 30, 40)
        spec["inner"] = "kfold:5"
        desc = "inner KFold(5) R^2 per target (brute force), then Ridge(alpha).predict"
    elif name == "constant_targets":
        X, Y, Xn = basic(120, 20, 30, 40)
        for j, c in zip([0, 7, 19], [0.0, 2.5, -3.0]):
            Y[:, j] = c
        desc = "constant target columns (0, 2.5, -3): predicted as the constant"
    elif name == "scales":
        Z = gp.features(rng, 170, 40)
        Xall = Z * np.logspace(-3, 3, 40) + 1e4
        Y = gp.targets(rng, Z, 50)[:150] + 1e4
        X, Xn = Xall[:150], Xall[150:]
        desc = "feature scales 1e-3..1e3 with offsets +1e4, targets with a baseline of +1e4"
    elif name == "collinear":
        base = gp.features(rng, 180, 30)
        dup = base[:, :15] * 1.0
        comb = base[:, :10] @ rng.standard_normal((10, 15))
        Xall = np.hstack([base, dup, comb])[:, rng.permutation(60)]
        Y = gp.targets(rng, base, 50)[:150]
        X, Xn = Xall[:150], Xall[150:]
        desc = "rank-deficient: 60 features of rank 30"
    elif name == "float32_input":
        X, Y, Xn = basic(150, 30, 40, 50)
        X, Y, Xn = X.astype(np.float32), Y.astype(np.float32), Xn.astype(np.float32)
        desc = "float32 X, Y and X_new; reference on the same values widened to float64"
    elif name == "meg3d":
        X = gp.features(rng, 160, 32)
        Y = gp.targets(rng, X, 6 * 10).reshape(160, 6, 10)
        X, Y, Xn = X[:130], Y[:130], X[130:]
        desc = "3-D brain data (n, 6 channels, 10 times): predictions new rows x 6 x 10"
    elif name == "standardize_scales":
        Z = gp.features(rng, 170, 40)
        Xall = Z * np.logspace(-3, 5, 40) + 1e4
        Xall[:, 7] = 0.1  # constant, not dyadic: StandardScaler leaves it unscaled
        Y = gp.targets(rng, Z, 50)[:150]
        X, Xn = Xall[:150], Xall[150:]
        spec["standardize"] = True
        desc = ("--standardize: feature scales 1e-3..1e5 on offsets of 1e4 and a constant feature; "
                "the weights in the features' own units")
    elif name == "standardize_n_lt_d_no_intercept":
        Z = gp.features(rng, 105, 200)
        Xall = Z * rng.uniform(0.01, 100, 200) + 0.5
        Y = gp.targets(rng, Z, 40)[:80]
        X, Xn = Xall[:80], Xall[80:]
        spec["standardize"] = True
        spec["intercept"] = False
        desc = "--standardize without intercept (StandardScaler(with_mean=False)), n < d (80 x 200)"
    else:
        raise ValueError(name)
    spec["alphas"] = [float(a) for a in spec["alphas"]]
    spec["description"] = desc
    return X, Y, Xn, spec


def reference(X, Y, Xn, alphas, inner, shared, intercept, standardize=False):
    """Predictions (new rows x m), chosen penalties (m), weights (d x m), intercepts (m) and
    the near-tie count."""
    X, Y, Xn = (np.asarray(a, dtype=np.float64) for a in (X, Y, Xn))
    if not standardize:
        return fit_predict(X, Y, Xn, alphas, inner, shared, intercept)
    scaler = StandardScaler(with_mean=intercept).fit(X)
    pred, chosen, coef, icpt, ties = fit_predict(scaler.transform(X), Y, scaler.transform(Xn), alphas,
                                                 inner, shared, intercept)
    coef = coef / scaler.scale_[:, None]
    if intercept:
        icpt = icpt - scaler.mean_ @ coef
    return pred, chosen, coef, icpt, ties


def fit_predict(X, Y, Xn, alphas, inner, shared, intercept):
    """reference without standardising."""
    m, d = Y.shape[1], X.shape[1]
    if inner == "loo":
        model, chosen, ties = gp.select_loo(X, Y, alphas, intercept, shared)
        coef = np.asarray(model.coef_).reshape(m, d).T
        icpt = np.broadcast_to(np.asarray(model.intercept_, dtype=float), (m,))
        return model.predict(Xn).reshape(len(Xn), m), chosen, coef, icpt, ties
    if inner == "gcv":
        chosen, ties = gp.select_gcv(X, Y, alphas, intercept, shared)
    else:
        parts = inner.split(":")
        score = parts[2] if len(parts) == 3 else "r2"
        chosen, ties = gp.select_kfold(X, Y, alphas, intercept, shared, int(parts[1]), score)
    pred, coef, icpt = np.empty((len(Xn), m)), np.empty((d, m)), np.empty(m)
    for a in np.unique(chosen):
        cols = np.flatnonzero(chosen == a)
        r = Ridge(alpha=a, fit_intercept=intercept).fit(X, Y[:, cols])
        pred[:, cols] = r.predict(Xn).reshape(len(Xn), -1)
        coef[:, cols] = np.asarray(r.coef_).reshape(len(cols), d).T
        icpt[cols] = r.intercept_
    return pred, chosen, coef, icpt, ties


CASES = ["loo_n_gt_d", "loo_n_lt_d", "shared_loo", "no_intercept", "gcv", "kfold5_r2",
         "constant_targets", "scales", "collinear", "float32_input", "meg3d", "standardize_scales",
         "standardize_n_lt_d_no_intercept"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", action="append", help="regenerate only these cases")
    only = ap.parse_args().case
    out = os.path.join(HERE, "predict")
    if os.path.isdir(out) and not only:
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    for ci, name in enumerate(CASES):
        if only and name not in only:
            continue
        for attempt in range(20):
            seed = 7000 + 100 * ci + attempt
            X, Y, Xn, spec = make_case(name, seed)
            n = X.shape[0]
            pred, chosen, coef, icpt, ties = reference(X, Y.reshape(n, -1), Xn, spec["alphas"], spec["inner"],
                                           spec["shared_alpha"], spec["intercept"], spec["standardize"])
            if ties == 0:
                break
            print("  %s seed %d: %d near-ties, regenerating" % (name, seed, ties))
        else:
            raise RuntimeError("%s: could not avoid near-ties" % name)
        trailing = Y.shape[1:]
        d = os.path.join(out, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        np.save(os.path.join(d, "X.npy"), X)
        np.save(os.path.join(d, "Y.npy"), Y)
        np.save(os.path.join(d, "X_new.npy"), Xn)
        np.save(os.path.join(d, "predictions.npy"), pred.reshape((len(Xn),) + trailing))
        np.save(os.path.join(d, "alphas.npy"), np.asarray(chosen, dtype=np.float64).reshape(trailing))
        np.save(os.path.join(d, "weights.npy"), np.ascontiguousarray(coef).reshape((X.shape[1],) + trailing))
        np.save(os.path.join(d, "intercepts.npy"), np.asarray(icpt, dtype=np.float64).reshape(trailing))
        spec.update(name=name, seed=seed, n=int(n), n_new=int(len(Xn)), d=int(X.shape[1]),
                    m=int(np.prod(trailing)), y_shape=[int(s) for s in Y.shape], dtype=str(X.dtype),
                    reference=("sklearn RidgeCV" if spec["inner"] == "loo" else
                               "brute-force selection, sklearn Ridge"),
                    sklearn=sklearn.__version__, numpy=np.__version__, scipy=scipy.__version__)
        with open(os.path.join(d, "case.json"), "w") as fh:
            json.dump(spec, fh, indent=1)
            fh.write("\n")
        print("%-18s n=%d new=%d d=%d m=%d inner=%s shared=%s icpt=%s distinct alphas=%d" % (
            name, n, len(Xn), X.shape[1], spec["m"], spec["inner"], spec["shared_alpha"],
            spec["intercept"], len(np.unique(chosen))))


if __name__ == "__main__":
    sys.exit(main())
