#!/usr/bin/python3
"""Write the NumPy/SciPy reference fixtures for package ceiling into testdata/ceiling/.

Run with Debian's interpreter, which has SciPy and NumPy:

    /usr/bin/python3 testdata/gen_ceiling.py

Two cases, each a small trial-level data set with its expected outputs, written
from the published formulas rather than from brainalign's code:

- ncsnr.json: the noise-ceiling SNR of the Natural Scenes Dataset (Allen et al.
  2022): betas z-scored within each session (scipy.stats.zscore, ddof 0), the
  noise variance pooled over repeated images, ncsnr = sqrt(max(0, total -
  noise)) / sqrt(noise) with the total variance of all trials (ddof 1), and
  NC = ncsnr^2 / (ncsnr^2 + mean over images of 1/repeats). Images are shown
  one to four times; one voxel is constant.
- splithalf2.json, splithalf3.json: two and three trials per image, four
  random splits written out (half A: floor(n/2) of each image's trials), the
  mean over splits of Pearson's r between the half means, and the explainable
  variance of the all-trial mean: with two trials the Spearman-Brown
  2r / (1 + r); with three (halves of one and two trials) the signal-to-noise
  S solving r = S / sqrt((S + 1)(S + 1/2)), found with np.roots, and
  S / (S + 1/3).
"""

import json
import os

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ceiling")
rng = np.random.default_rng(20261206)


def write(name, doc):
    os.makedirs(OUT, exist_ok=True)
    doc = dict(generator="testdata/gen_ceiling.py", numpy=np.__version__, scipy=scipy.__version__, **doc)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")


def gen_ncsnr():
    images, voxels, sessions = 60, 7, 3
    repeats = rng.integers(1, 5, size=images)  # 1..4 trials per image
    ids = np.repeat(np.arange(images), repeats)
    rng.shuffle(ids)
    trials = len(ids)
    session = np.sort(rng.integers(0, sessions, size=trials))
    signal = rng.normal(size=(images, voxels)) * np.linspace(0.2, 2.0, voxels)
    y = signal[ids] + rng.normal(size=(trials, voxels))
    # session drifts that z-scoring removes
    y = y * (1 + 0.5 * session[:, None]) + 3.0 * session[:, None]
    y[:, 3] = 1.25  # a constant voxel
    z = np.empty_like(y)
    for s in range(sessions):
        rows = session == s
        with np.errstate(invalid="ignore", divide="ignore"):
            zs = stats.zscore(y[rows], axis=0, ddof=0)
        z[rows] = np.nan_to_num(zs, nan=0.0)  # constant within a session -> 0
    # pooled within-image variance over repeated images
    ss = np.zeros(voxels)
    df = 0
    for i in range(images):
        rows = ids == i
        if rows.sum() >= 2:
            ss += ((z[rows] - z[rows].mean(axis=0)) ** 2).sum(axis=0)
            df += rows.sum() - 1
    noise = ss / df
    total = z.var(axis=0, ddof=1)
    signal_var = np.maximum(0, total - noise)
    ncsnr = np.zeros(voxels)
    ok = total > 0
    ncsnr[ok] = np.sqrt(signal_var[ok]) / np.sqrt(noise[ok])
    order = list(dict.fromkeys(ids.tolist()))  # images in order of first appearance
    nu = np.mean([1.0 / repeats[i] for i in order])
    nc = ncsnr**2 / (ncsnr**2 + nu)
    averaged = np.array([z[ids == i].mean(axis=0) for i in order])
    write("ncsnr", dict(
        trials=y.ravel().tolist(), shape=list(y.shape), ids=[f"img{i:03d}" for i in ids],
        sessions=session.tolist(), noise_term=nu, noise_var=noise.tolist(), signal_var=signal_var.tolist(),
        ncsnr=ncsnr.tolist(), explainable=nc.tolist(), ceiling=np.sqrt(nc).tolist(),
        stimuli=[f"img{i:03d}" for i in order], averaged=averaged.ravel().tolist()))


def split_halves(ids, splits):
    """Random splits: each image's trials shuffled, the first floor(n/2) in half A (0)."""
    halves = []
    for _ in range(splits):
        h = np.full(len(ids), -1)
        for i in np.unique(ids):
            rows = rng.permutation(np.flatnonzero(ids == i))
            if len(rows) >= 2:
                h[rows] = 1
                h[rows[: len(rows) // 2]] = 0
        halves.append(h)
    return halves


def gen_splithalf(name, images, voxels, repeats):
    signal = rng.normal(size=(images, voxels)) * np.linspace(0.3, 1.5, voxels)
    ids = np.concatenate([rng.permutation(images) for _ in range(repeats)])
    y = signal[ids] + rng.normal(size=(len(ids), voxels))
    halves = split_halves(ids, 4)
    rs = []
    for h in halves:
        a = np.array([y[(ids == i) & (h == 0)].mean(axis=0) for i in range(images)])
        b = np.array([y[(ids == i) & (h == 1)].mean(axis=0) for i in range(images)])
        rs.append([stats.pearsonr(a[:, v], b[:, v])[0] for v in range(voxels)])
    r = np.mean(rs, axis=0)
    half = repeats // 2
    nu_a, nu_b, nu = 1 / half, 1 / (repeats - half), 1 / repeats
    if repeats == 2:
        # equal halves of one trial: the Spearman-Brown prophecy for the two-trial mean
        explainable = np.where(r > 0, 2 * r / (1 + r), 0.0)
    else:
        # r = S / sqrt((S + nu_a)(S + nu_b)) solved for the signal-to-noise S by np.roots
        explainable = []
        for rv in r:
            if rv <= 0:
                explainable.append(0.0)
                continue
            roots = np.roots([1 - rv**2, -(rv**2) * (nu_a + nu_b), -(rv**2) * nu_a * nu_b])
            S = max(x.real for x in roots if abs(x.imag) < 1e-12)
            assert abs(S / np.sqrt((S + nu_a) * (S + nu_b)) - rv) < 1e-12
            explainable.append(S / (S + nu))
        explainable = np.array(explainable)
    write(name, dict(
        trials=y.ravel().tolist(), shape=list(y.shape), ids=[f"s{i}" for i in ids],
        halves=[h.tolist() for h in halves],
        split_half_r=r.tolist(), explainable=explainable.tolist(), ceiling=np.sqrt(explainable).tolist()))


gen_ncsnr()
gen_splithalf("splithalf2", 40, 5, 2)
gen_splithalf("splithalf3", 50, 4, 3)
