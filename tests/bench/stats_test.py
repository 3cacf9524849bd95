#!/usr/bin/env python3
"""bench/stats.py: the t table, the intervals and the verdicts (no VM).

    tests/bench/stats_test.py      (ctest: bench_stats)
"""
import math
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent.parent / "bench"))
import stats  # noqa: E402


def t_cdf(t, dof, steps=4000):
    """Student's t distribution function, by Simpson's rule on its density."""
    c = math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) / math.sqrt(dof * math.pi)

    def pdf(x):
        return c * (1 + x * x / dof) ** (-(dof + 1) / 2)

    h = t / steps
    area = pdf(0) + pdf(t) + sum((4 if i % 2 else 2) * pdf(i * h) for i in range(1, steps))
    return 0.5 + area * h / 3


class TTable(unittest.TestCase):
    def test_each_value_is_the_upper_2_5_percent_point(self):
        for dof in range(1, 31):
            self.assertAlmostEqual(t_cdf(stats.t95(dof), dof), 0.975, delta=1e-4, msg=f"dof {dof}")

    def test_outside_the_table(self):
        for dof in (0, 31):
            with self.assertRaises(ValueError):
                stats.t95(dof)


class MeanCi(unittest.TestCase):
    def test_three_boots(self):
        mean, lo, hi = stats.mean_ci([1.0, 2.0, 3.0])
        half = 4.303 / math.sqrt(3)  # s = 1
        self.assertEqual(mean, 2.0)
        self.assertAlmostEqual(lo, 2.0 - half)
        self.assertAlmostEqual(hi, 2.0 + half)

    def test_one_boot_has_no_interval(self):
        self.assertEqual(stats.mean_ci([5.0]), (5.0, None, None))
        self.assertEqual(stats.mean_ci([]), (None, None, None))
        self.assertEqual(stats.mean_ci([None, 4.0]), (4.0, None, None))

    def test_no_spread(self):
        self.assertEqual(stats.mean_ci([7.0, 7.0]), (7.0, 7.0, 7.0))


class RatioCi(unittest.TestCase):
    def test_geometric_and_mirrored(self):
        r, lo, hi = stats.ratio_ci([1.5, 2.0, 2.5])
        self.assertAlmostEqual(r, (1.5 * 2.0 * 2.5) ** (1 / 3))
        ri, loi, hii = stats.ratio_ci([1 / 1.5, 1 / 2.0, 1 / 2.5])
        self.assertAlmostEqual(ri, 1 / r)
        self.assertAlmostEqual(loi, 1 / hi)
        self.assertAlmostEqual(hii, 1 / lo)
        self.assertGreater(lo, 0)

    def test_bounds_stay_positive_where_a_plain_interval_would_not(self):
        _, lo, _ = stats.ratio_ci([0.2, 3.0])
        _, plain_lo, _ = stats.mean_ci([0.2, 3.0])
        self.assertLess(plain_lo, 0)
        self.assertGreater(lo, 0)

    def test_missing_or_impossible_ratio(self):
        self.assertEqual(stats.ratio_ci([1.0, None]), (None, None, None))
        self.assertEqual(stats.ratio_ci([1.0, 0.0]), (None, None, None))
        self.assertEqual(stats.ratio_ci([]), (None, None, None))


class Verdict(unittest.TestCase):
    def test_throughput_higher_is_better(self):
        self.assertEqual(stats.verdict(1.1, 1.5, 3, True), stats.WIN)
        self.assertEqual(stats.verdict(0.5, 0.9, 3, True), stats.LOSS)
        self.assertEqual(stats.verdict(0.9, 1.2, 3, True), stats.TIE)

    def test_latency_and_cpu_lower_is_better(self):
        self.assertEqual(stats.verdict(0.5, 0.9, 3, False), stats.WIN)
        self.assertEqual(stats.verdict(1.1, 1.5, 3, False), stats.LOSS)
        self.assertEqual(stats.verdict(0.95, 1.05, 3, False), stats.TIE)

    def test_an_interval_touching_one_claims_nothing(self):
        self.assertEqual(stats.verdict(1.0, 1.4, 3, True), stats.TIE)
        self.assertEqual(stats.verdict(0.6, 1.0, 3, False), stats.TIE)

    def test_one_boot_claims_nothing(self):
        self.assertEqual(stats.verdict(None, None, 1, True), stats.NO_CI)
        self.assertEqual(stats.verdict(2.0, 3.0, 1, True), stats.NO_CI)

    def test_end_to_end_from_boots(self):
        # AF_VIRT at 300, 310, 290 MB/s; vsock at 100, 120, 110: a win.
        ratios = [300 / 100, 310 / 120, 290 / 110]
        r, lo, hi = stats.ratio_ci(ratios)
        self.assertEqual(stats.verdict(lo, hi, 3, True), stats.WIN)
        # Against a baseline within the spread: a tie, not a win.
        r, lo, hi = stats.ratio_ci([300 / 280, 310 / 330, 290 / 285])
        self.assertEqual(stats.verdict(lo, hi, 3, True), stats.TIE)


if __name__ == "__main__":
    unittest.main()
