#!/usr/bin/python3
"""bench/stats.py: the t table, the intervals and the verdicts (no VM).

    tests/bench/stats_test.py      (ctest: bench_stats)
"""
import math
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent.parent / "bench"))
import stats  # noqa: E402


class TTable(unittest.TestCase):
    def test_upper_2_5_percent_points(self):
        # NIST/SEMATECH e-Handbook 1.3.6.7.2, to its three decimals.
        for dof, value in ((1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (30, 2.042)):
            self.assertAlmostEqual(stats.t95(dof), value, places=3, msg=f"dof {dof}")

    def test_no_degrees_of_freedom(self):
        with self.assertRaises(ValueError):
            stats.t95(0)


class MeanCi(unittest.TestCase):
    def test_three_boots(self):
        mean, lo, hi = stats.mean_ci([1.0, 2.0, 3.0])
        half = stats.t95(2) / math.sqrt(3)  # s = 1
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
