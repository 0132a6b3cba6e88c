#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Prints, for every ratio counter of the side-by-side benchmarks, the median of the runs of
the after binary over the median of the runs of the before binary, with a 90 % bootstrap
interval. A ratio only the after binary reports is printed alone.

usage: compare_pairs.py DIR   (DIR holds before-N.json and after-N.json: ci/bench_compare.sh)
"""
import glob
import json
import os
import random
import statistics
import sys


def ratios(directory, side):
    found = {}
    for path in glob.glob(os.path.join(directory, f"{side}-*.json")):
        try:
            with open(path) as f:
                benchmarks = json.load(f)["benchmarks"]
        except (OSError, ValueError, KeyError) as e:
            print(f"compare_pairs.py: {path}: skipped ({e})", file=sys.stderr)
            continue
        for b in benchmarks:
            for counter, value in b.items():
                if isinstance(value, float) and "_over_" in counter:
                    found.setdefault((b["name"].split("/")[0], counter), []).append(value)
    return found


def interval(after, before, rounds=2000):
    rng = random.Random(1)
    samples = sorted(
        statistics.median(rng.choices(after, k=len(after)))
        / statistics.median(rng.choices(before, k=len(before)))
        for _ in range(rounds))
    return samples[int(rounds * 0.05)], samples[int(rounds * 0.95) - 1]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    before, after = ratios(sys.argv[1], "before"), ratios(sys.argv[1], "after")
    print(f"{'benchmark':28} {'ratio':34} {'runs':>4} {'after/before':>12} {'90% interval':>14}")
    for key in sorted(set(before) | set(after)):
        a, b = after.get(key, []), before.get(key, [])
        if a and b:
            low, high = interval(a, b)
            change = statistics.median(a) / statistics.median(b)
            print(f"{key[0]:28} {key[1]:34} {len(a):4} {change:12.3f} {low:7.3f}-{high:6.3f}")
        elif a:
            print(f"{key[0]:28} {key[1]:34} {len(a):4} {'after only: ':>12}"
                  f"{statistics.median(a):.3f}")


if __name__ == "__main__":
    main()
