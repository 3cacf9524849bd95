"""Confidence intervals across boots and the verdicts drawn from them
(bench/report.py; tests/bench/stats_test.py).

Each boot gives one value per point (the median of its repetitions); the
boots are the independent samples.  A mean gets Student's t interval with
n - 1 degrees of freedom.  A ratio (AF_VIRT / a baseline, both measured in
the same boot) gets its interval on the logarithms and is reported as the
geometric mean: a ratio and its inverse then get mirrored intervals, and
the bounds stay positive, which an interval on the plain ratios does not
promise with 3 boots."""
import math
import statistics

from scipy.stats import t as student_t

WIN, LOSS, TIE, NO_CI = "win", "loss", "tie (within spread)", "no CI (1 boot)"


def t95(dof):
    """Two-sided 95 % critical value of Student's t (its upper 2.5 % point)."""
    if dof < 1:
        raise ValueError(f"no t value for {dof} degrees of freedom")
    return float(student_t.ppf(0.975, dof))


def mean_ci(values):
    """(mean, low, high) of the values; low and high None with fewer than two."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def ratio_ci(ratios):
    """(geometric mean, low, high) of per-boot ratios, the interval taken on
    their logarithms; None for all when a ratio is missing or not positive."""
    if not ratios or any(r is None or r <= 0 for r in ratios):
        return None, None, None
    mean, lo, hi = mean_ci([math.log(r) for r in ratios])
    return math.exp(mean), (math.exp(lo) if lo is not None else None), \
        (math.exp(hi) if hi is not None else None)


def verdict(lo, hi, n, higher_is_better):
    """AF_VIRT's win or loss on a ratio AF_VIRT / baseline: claimed only where
    the interval excludes 1.  Throughput: higher is better; round-trip time
    and CPU per byte: lower."""
    if n < 2 or lo is None or hi is None:
        return NO_CI
    if lo > 1:
        return WIN if higher_is_better else LOSS
    if hi < 1:
        return LOSS if higher_is_better else WIN
    return TIE
