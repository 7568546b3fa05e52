#!/usr/bin/python3
"""Write the SciPy reference fixtures for package stats into testdata/stats/.

Run with Debian's interpreter, which has SciPy and NumPy:

    /usr/bin/python3 testdata/gen_stats.py

The fixtures record the SciPy and NumPy versions that produced them; the Go
tests compare against these numbers with tight tolerances. SciPy 1.10 has no
false_discovery_control (added in 1.11) and statsmodels is not installed, so
the Benjamini-Hochberg references are computed here with the algorithm of
scipy 1.11's false_discovery_control(method='bh') written out in NumPy, and
checked against a brute-force definition (min over j >= i of p_(j) m / j).
"""

import json
import os
import warnings

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stats")


def num(v):
    """JSON-safe float: NaN and infinities become null / strings."""
    v = float(v)
    if np.isnan(v):
        return None
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def nums(a):
    return [num(v) for v in np.asarray(a, dtype=float).ravel()]


def write(name, cases):
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "generator": "testdata/gen_stats.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")


rng = np.random.default_rng(20250101)


def correlation_inputs():
    out = []
    out.append(("n3", np.array([1.0, 2.0, 3.5]), np.array([2.0, 1.0, 4.0])))
    x = rng.normal(size=10)
    out.append(("n10_negative", x, -0.8 * x + 0.3 * rng.normal(size=10)))
    x = rng.normal(size=50)
    out.append(("n50_weak", x, 0.1 * x + rng.normal(size=50)))
    x = rng.normal(size=30)
    out.append(("n30_strong", x, x + 1e-3 * rng.normal(size=30)))
    out.append(("n2", np.array([1.0, 3.0]), np.array([5.0, 2.0])))
    x = 1e6 + rng.normal(size=20)
    out.append(("offset", x, 1e3 * x + rng.normal(size=20) * 100))
    x = np.round(rng.normal(size=25), 0)
    out.append(("ties", x, np.round(x + rng.normal(size=25), 0)))
    x = rng.normal(size=200)
    out.append(("n200_null", x, rng.normal(size=200)))
    out.append(("perfect", np.arange(8.0), 2 * np.arange(8.0) + 1))
    # Monotone but not linear: Spearman's rho is 1 or -1 in exact arithmetic, and spearmanr's
    # np.corrcoef gives exactly 1 (n=3, p = 0) or 1 - 2e-16 (n=5, p of about 1e-24).
    out.append(("monotone_n3", np.array([1.0, 2.0, 3.5]), np.array([0.2, 0.9, 4.0])))
    out.append(("monotone_n5", np.array([0.1, 0.4, 0.5, 2.0, 3.0]), np.array([1.0, 1.5, 8.0, 9.0, 30.0])))
    out.append(("antitone_n8", np.arange(8.0), 1 - np.arange(8.0) ** 3))
    return out


def gen_correlations():
    pc, sc = [], []
    for name, x, y in correlation_inputs():
        r, p = stats.pearsonr(x, y)
        pc.append({"name": name, "x": nums(x), "y": nums(y), "r": num(r), "p": num(p)})
        rs, ps = stats.spearmanr(x, y)
        sc.append({"name": name, "x": nums(x), "y": nums(y), "r": num(rs), "p": num(ps)})
    write("pearson", pc)
    write("spearman", sc)


def gen_spearman_monotone():
    """Monotone data of 3 to 40 pairs: spearmanr's rho is +-1 in exact arithmetic, and np.corrcoef's
    order of operations gives exactly +-1 for most lengths and 1 - 2^-53 or 1 - 2^-52 for some
    (it clips 1 + 2^-52 to 1): a test of that order, bit for bit."""
    cases = []
    for n in range(3, 41):
        x = np.arange(n, dtype=float)
        for y in (x**3 + 0.5, 0.5 - x**3):
            rho, p = stats.spearmanr(x, y)
            cases.append({"n": n, "x": nums(x), "y": nums(y), "rho": num(rho), "p": num(p)})
    write("spearman_monotone", cases)


def gen_ttest():
    cases = []
    specs = [
        ("n2", np.array([0.3, 0.5]), 0.0),
        ("n5_mu", np.array([1.2, 0.8, 1.9, 1.1, 1.4]), 1.0),
        ("n20", rng.normal(0.2, 1.0, size=20), 0.0),
        ("n20_negative", rng.normal(-0.5, 0.3, size=20), 0.0),
        ("n100_far", rng.normal(0.05, 0.01, size=100), 0.0),
        ("n8_mu_above", rng.normal(0.0, 1.0, size=8), 2.0),
    ]
    for name, x, mu in specs:
        res = stats.ttest_1samp(x, mu)
        cases.append({"name": name, "x": nums(x), "mu": mu,
                      "t": num(res.statistic), "p": num(res.pvalue)})
    # Columns: replicates x targets, as scores across subjects per target.
    cols = []
    for name, rows, ncol, loc in [("8x6", 8, 6, 0.1), ("4x9", 4, 9, 0.3), ("3x2", 3, 2, 0.0)]:
        data = rng.normal(loc, 0.2, size=(rows, ncol))
        res = stats.ttest_1samp(data, 0.0, axis=0)
        cols.append({"name": name, "rows": rows, "cols": ncol, "data": nums(data),
                     "t": nums(res.statistic), "p": nums(res.pvalue)})
    write("ttest_1samp", {"scalar": cases, "columns": cols})


def bh_scipy111(ps):
    """scipy 1.11 false_discovery_control(ps, method='bh'), written out."""
    ps = np.asarray(ps, dtype=float)
    m = ps.size
    order = np.argsort(ps)
    sorted_ps = ps[order]
    i = np.arange(1, m + 1)
    sorted_ps = sorted_ps * m / i
    sorted_ps = np.minimum.accumulate(sorted_ps[::-1])[::-1]
    out = np.empty_like(ps)
    out[order] = sorted_ps
    return np.clip(out, 0, 1)


def bh_brute(ps):
    ps = np.asarray(ps, dtype=float)
    m = ps.size
    s = np.sort(ps)
    adj_sorted = np.array([min(min(s[j] * m / (j + 1) for j in range(i, m)), 1.0) for i in range(m)])
    # map back through ranks (ties get the same adjusted value either way)
    out = np.empty(m)
    for k, p in enumerate(ps):
        i = int(np.searchsorted(s, p, side="left"))
        out[k] = adj_sorted[i]
    return out


def gen_bh():
    cases = []
    specs = [
        ("single", [0.03]),
        ("classic", [0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.001, 0.04]),
        ("ties", [0.02, 0.02, 0.02, 0.5, 0.01, 0.01]),
        ("ones_and_zero", [1.0, 0.0, 1.0, 0.3]),
        ("uniform200", rng.uniform(size=200).tolist()),
        ("mixture300", np.concatenate([rng.uniform(0, 1e-4, size=60), rng.uniform(size=240)]).tolist()),
    ]
    for name, p in specs:
        adj = bh_scipy111(p)
        brute = bh_brute(p)
        assert np.allclose(adj, brute, rtol=1e-14, atol=0), name
        masks = {str(q): [bool(v) for v in (adj <= q)] for q in (0.01, 0.05, 0.1)}
        cases.append({"name": name, "p": nums(p), "adjusted": nums(adj), "masks": masks})
    write("bh", cases)


def gen_wilcoxon():
    cases = []

    def add(name, x, y, note):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if y is None:
                res = stats.wilcoxon(x)
            else:
                res = stats.wilcoxon(x, y)
        d = np.asarray(x) - (0 if y is None else np.asarray(y))
        cases.append({"name": name, "note": note, "x": nums(x),
                      "y": None if y is None else nums(y),
                      "n_zero": int(np.sum(d == 0)),
                      "has_ties": bool(len(np.unique(np.abs(d[d != 0]))) < np.sum(d != 0)),
                      "stat": num(res.statistic), "p": num(res.pvalue)})

    # Eight subjects, as the fMRI study: exact distribution.
    a = rng.normal(0.30, 0.05, size=8)
    add("subjects8_exact", a, a - rng.normal(0.02, 0.02, size=8), "exact, n=8")
    add("n4_exact_center", np.array([1.0, -2.0, -3.0, 4.0]), np.array([0.0, 0.0, 0.0, 0.0]),
        "exact, r_plus at the centre of the distribution")
    add("n5_all_positive", np.array([1.1, 2.2, 3.3, 4.4, 5.5]), np.zeros(5), "exact, extreme")
    x = rng.normal(size=20)
    add("n20_exact", x, rng.normal(size=20) + 0.4, "exact, n=20")
    x = rng.normal(size=50)
    add("n50_exact", x, x - 0.1 + rng.normal(size=50) * 0.5, "exact at the threshold n=50")
    x = rng.normal(size=51)
    add("n51_approx", x, x - 0.1 + rng.normal(size=51) * 0.5, "normal approximation, n=51")
    x = rng.normal(size=120)
    add("n120_approx", x, rng.normal(size=120), "normal approximation, n=120")
    add("zeros_small", np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]),
        np.array([1.0, 2.5, 2.0, 4.0, 3.0, 8.0, 6.5, 8.0, 5.0, 13.0]),
        "zeros with n<=50: approx, zeros dropped")
    d = np.round(rng.normal(0.5, 1.0, size=15) * 2) / 2
    d[d == 0] = 0.5
    add("ties_exact_n15", d, None,
        "ties, no zeros, n<=50: scipy 1.10 still uses the exact distribution (r_plus truncated)")
    add("ties_half_rank_n6", np.array([0.5, -0.5, 1.0, 2.0, 3.0, -4.0]), None,
        "ties give r_plus = 11.5; scipy 1.10 truncates it to 11 for the exact p")
    d = np.round(rng.normal(0.2, 1.0, size=80) * 2) / 2
    add("ties_zeros_n80", d, None, "approx with zeros dropped and tie correction")
    d = np.array([0.5, 0.5, -0.5, 1.0, 1.0, 1.0, 2.0, -2.0, 3.0, 0.0, 0.0, 1.5])
    add("ties_and_zeros_n12", d, None, "zeros force approx; ties corrected")
    write("wilcoxon", cases)


def gen_linregress():
    cases = []
    for name, x, y in correlation_inputs():
        if name == "n2":
            continue
        res = stats.linregress(x, y)
        cases.append({"name": name, "x": nums(x), "y": nums(y),
                      "slope": num(res.slope), "intercept": num(res.intercept)})
    write("linregress", cases)


def gen_distributions():
    ts = [-40.0, -8.5, -2.0, -0.3, 0.0, 0.7, 3.1, 12.0]
    dfs = [1, 2, 5, 29, 300]
    tcases = [{"t": t, "df": df, "cdf": num(stats.t.cdf(t, df)), "sf": num(stats.t.sf(t, df))}
              for t in ts for df in dfs]
    zs = [-9.0, -3.2, -1.0, 0.0, 0.4, 2.5, 7.0]
    ncases = [{"z": z, "cdf": num(stats.norm.cdf(z)), "sf": num(stats.norm.sf(z))} for z in zs]
    write("distributions", {"t": tcases, "normal": ncases})


def powerlaw_fit(x, y):
    """Least squares y = yinf - gap (x/xref)^-alpha (xref: geometric mean of x) with
    scipy.optimize.curve_fit (Levenberg-Marquardt on all three parameters) started from many
    exponents, keeping the smallest residual; then checked against a dense scan of the exponent,
    so that the fixture holds the global minimum, not a local one."""
    from scipy.optimize import curve_fit
    lx = np.log(x)
    xref = np.exp(lx.mean())
    span = lx.max() - lx.min()

    def f(xx, yinf, gap, alpha):
        return yinf - gap * (xx / xref) ** (-alpha)

    best = None
    for beta0 in np.logspace(-2, 2, 25):
        a0 = beta0 / span
        u = (x / xref) ** (-a0)
        (c0, g0), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(u), -u]), y, rcond=None)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, pcov = curve_fit(f, x, y, p0=[c0, g0, a0], method="lm",
                                    xtol=1e-15, ftol=1e-15, gtol=1e-15, maxfev=200000)
        except RuntimeError:
            continue
        if p[2] <= 0:
            continue
        rss = float(np.sum((y - f(x, *p)) ** 2))
        if best is None or rss < best[0]:
            best = (rss, p, pcov)
    rss, p, pcov = best
    # Brute force: the profile residual on a dense exponent grid must not beat curve_fit.
    for beta in np.logspace(-3, np.log10(300), 20000):
        u = (x / xref) ** (-beta / span)
        _, res, *_ = np.linalg.lstsq(np.column_stack([np.ones_like(u), -u]), y, rcond=None)
        r = float(res[0]) if len(res) else float(np.sum((y - np.mean(y)) ** 2))
        assert r >= rss * (1 - 1e-9), ("curve_fit missed the global minimum", beta, r, rss)
    sst = float(np.sum((y - y.mean()) ** 2))
    return {"y_inf": num(p[0]), "gap": num(p[1]), "alpha": num(p[2]), "x_ref": num(xref),
            "se": nums(np.sqrt(np.diag(pcov))), "rss": num(rss), "r2": num(1 - rss / sst)}


def gen_powerlaw():
    r = np.random.default_rng(20251124)
    cases = []

    def add(name, x, y, note):
        x, y = np.asarray(x, float), np.asarray(y, float)
        lin = stats.linregress(np.log(x), y)
        lrss = float(np.sum((y - lin.intercept - lin.slope * np.log(x)) ** 2))
        cases.append({"name": name, "note": note, "x": nums(x), "y": nums(y),
                      "fit": powerlaw_fit(x, y),
                      "loglinear": {"intercept": num(lin.intercept), "slope": num(lin.slope), "rss": num(lrss)}})

    x = np.logspace(15, 21, 12)
    add("planted_compute", x, 0.45 - 0.2 * (x / 1e18) ** -0.3 + r.normal(0, 0.004, x.size),
        "12 models, compute 1e15-1e21 FLOP, alpha 0.3")
    x = np.repeat(np.logspace(6, 9, 5), 3)
    add("ties_in_x", x, 0.3 - 0.1 * (x / 1e7) ** -0.4 + r.normal(0, 0.01, x.size),
        "5 model sizes x 3 seeds: repeated x")
    x = np.logspace(1, 6, 10)
    add("falling", x, 0.2 + 0.5 * (x / 1e3) ** -0.5 + r.normal(0, 0.005, x.size),
        "a decreasing metric (error): negative gap")
    add("minimal_n4", np.array([1e3, 1e4, 1e5, 1e6]), np.array([0.10, 0.21, 0.26, 0.285]),
        "4 points: one degree of freedom")
    x = 10 ** r.uniform(14, 24, 600)
    add("many_models_600", x, 0.5 - 0.25 * (x / 1e19) ** -0.12 + r.normal(0, 0.03, x.size),
        "600 models, log-uniform compute, noisy")
    x = np.logspace(0, 3, 9)
    add("steep", x, 0.6 - 0.4 * x ** -2.0 + r.normal(0, 0.002, x.size),
        "saturates within the first decade: alpha 2")
    x = np.logspace(-6, -2, 8)
    add("small_x", x, 0.4 - 0.05 * (x / 1e-4) ** -0.2 + r.normal(0, 0.001, x.size),
        "x far below 1 (a fraction of training)")
    x = np.logspace(0, 4, 8)
    add("tiny_units", x, 1e-10 * (-3 - 2 * (x / 100) ** -0.3 + r.normal(0, 0.05, x.size)),
        "y in units of 1e-10: the standard errors scale with y, alpha's does not")
    write("powerlaw", cases)


if __name__ == "__main__":
    gen_correlations()
    gen_ttest()
    gen_bh()
    gen_wilcoxon()
    gen_linregress()
    gen_distributions()
    gen_powerlaw()
    gen_spearman_monotone()
    print("wrote fixtures to", OUT, "with scipy", scipy.__version__)
