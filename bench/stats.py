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

# Two-sided 95 % critical values of Student's t (upper 2.5 % point) for
# 1..30 degrees of freedom, from NIST/SEMATECH e-Handbook of Statistical
# Methods, 1.3.6.7.2 "Critical Values of the Student's t Distribution"
# (https://www.itl.nist.gov/div898/handbook/eda/section3/eda3672.htm).
# tests/bench/stats_test.py checks them against the t distribution itself.
T95 = [None, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
       2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
       2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

WIN, LOSS, TIE, NO_CI = "win", "loss", "tie (within spread)", "no CI (1 boot)"


def t95(dof):
    if not 1 <= dof < len(T95):
        raise ValueError(f"no t value for {dof} degrees of freedom (1..{len(T95) - 1})")
    return T95[dof]


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
