#!/usr/bin/env python3
"""Generates a deterministic source-like tree for the store benchmarks.

Usage: bench/gen_tree.py DIR [FILES] [TOTAL_MB]

Defaults: 40,000 files, about 160 MB. The tree has 2-level nesting (40 x 25 directories of
40 files each), mostly small files (0-8 KiB) plus a few multi-megabyte ones, every 50th file
executable, and one symlink per directory. Contents come from a fixed seed, so the NAR hash is
the same on every run.
"""
import os
import random
import sys

def main():
    root = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 40_000
    total = (int(sys.argv[3]) if len(sys.argv) > 3 else 160) * 1_000_000
    rng = random.Random(42)
    big_count = 8
    big_size = total // 4 // big_count          # a quarter of the bytes in 8 big files
    small_budget = total - big_count * big_size
    per_file = small_budget // (files - big_count)
    os.makedirs(root)
    top, sub = 40, 25
    per_dir = max(1, files // (top * sub))
    n = 0
    for t in range(top):
        for s in range(sub):
            d = os.path.join(root, f"pkg{t:02}", f"mod{s:02}")
            os.makedirs(d, exist_ok=True)
            for f in range(per_dir):
                if n >= files:
                    break
                if n < big_count:
                    size = big_size
                else:
                    size = rng.randint(0, 2 * per_file)
                path = os.path.join(d, f"file{f:03}.txt")
                with open(path, "wb") as out:
                    out.write(rng.randbytes(size))
                if n % 50 == 0:
                    os.chmod(path, 0o755)
                n += 1
            os.symlink("file000.txt", os.path.join(d, "link"))
    while n < files:
        d = os.path.join(root, "extra")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{n}"), "wb") as out:
            out.write(rng.randbytes(rng.randint(0, 2 * per_file)))
        n += 1

if __name__ == "__main__":
    main()
