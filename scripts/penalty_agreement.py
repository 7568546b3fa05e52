#!/usr/bin/python3
"""How often two sweeps of the same data chose the same penalty, and how far their scores differ.

    /usr/bin/python3 scripts/penalty_agreement.py SWEEP_A SWEEP_B
    /usr/bin/python3 scripts/penalty_agreement.py --make-wide DIR

SWEEP_A and SWEEP_B are `brainalign sweep` folders of the same brain data, activations and
folds that differ in the inner selection (`--inner loo` and `--inner gcv`, say) or the
precision. For every unit both have scored (units/<checkpoint>/<layer>.alphas.npy), it compares
the penalty chosen for each (fold, target) pair, and the scores (mean r over folds) of each
target. DESIGN.md section 2 asks how often GCV picks exact LOO's penalty: this is how
docs/study.md's figures were measured. Needs NumPy only.

--make-wide DIR writes the table's case of activations wider than the images: DIR/acts/ (two
layers of 300 images x 1,500 features, a 20-factor signal plus noise of decaying scale) and
DIR/Y.npy (1,000 targets, a fifth pure noise, the others 0.1 to 1.5 times the signal).
"""

import glob
import os
import sys

import numpy as np


def units(sweep):
    pattern = os.path.join(sweep, "units", "*", "*.alphas.npy")
    return {os.path.relpath(p, sweep): p for p in glob.glob(pattern)}


def main(a, b):
    ua, ub = units(a), units(b)
    common = sorted(set(ua) & set(ub))
    if not common:
        sys.exit(f"no unit scored in both {a} and {b}")
    pairs = same = within_one = 0
    fold_diff, score_diff = [], []
    for name in common:
        pa, pb = np.load(ua[name]), np.load(ub[name])
        if pa.shape != pb.shape:
            sys.exit(f"{name}: penalties of shape {pa.shape} in {a}, {pb.shape} in {b}")
        pairs += pa.size
        same += int(np.sum(pa == pb))
        # one step of a logspace grid of one penalty per decade
        within_one += int(np.sum(np.abs(np.log10(pa / pb)) <= 1 + 1e-9))
        for kind, out in (("fold_scores", fold_diff), ("scores", score_diff)):
            sa = np.load(ua[name].replace(".alphas.npy", f".{kind}.npy"))
            sb = np.load(ub[name].replace(".alphas.npy", f".{kind}.npy"))
            out.append(np.abs(sa - sb).ravel())
    fold_diff, score_diff = np.concatenate(fold_diff), np.concatenate(score_diff)
    print(f"{len(common)} units, {pairs} (fold, target) pairs")
    print(f"same penalty: {same} ({100 * same / pairs:.1f}%); within one decade: {100 * within_one / pairs:.1f}%")
    print(f"|fold r difference|: mean {fold_diff.mean():.2g}, max {fold_diff.max():.2g}")
    print(f"|score difference| per target: mean {score_diff.mean():.2g}, 99th percentile "
          f"{np.percentile(score_diff, 99):.2g}, max {score_diff.max():.2g}")


def make_wide(out):
    rng = np.random.default_rng(7)
    n, d, m, k = 300, 1500, 1000, 20
    latent = rng.normal(size=(n, k))
    os.makedirs(os.path.join(out, "acts"), exist_ok=True)
    for layer in range(2):
        x = latent @ rng.normal(size=(k, d)) + 3 * rng.normal(size=(n, d)) * np.logspace(0, -2, d)
        np.save(os.path.join(out, "acts", f"layer{layer}.npy"), x.astype(np.float32))
    snr = np.where(rng.uniform(size=m) < 0.2, 0, rng.uniform(0.1, 1.5, size=m))
    y = latent @ rng.normal(size=(k, m)) * snr / np.sqrt(k) + rng.normal(size=(n, m))
    np.save(os.path.join(out, "Y.npy"), y)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make-wide":
        make_wide(sys.argv[2])
    elif len(sys.argv) == 3:
        main(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
