#!/usr/bin/env python3
"""Generates a deterministic flake with many inputs for the `flake archive` benchmarks.

Usage: bench/gen_flake_graph.py DIR [--path N] [--git N] [--tarball N] [--url-base URL]
                                    [--files MIN-MAX] [--non-flake-every K]

Writes, under DIR:
  inputs/pathNN/    path inputs (plain directories)
  inputs/gitNN/     git inputs (repositories with one commit; fixed author, committer and
                    dates, so the revisions are the same on every run)
  serve/tarNN.tar.gz  tarball inputs (one top-level directory, fixed owner and mtimes); the
                    root refers to them as URL-BASE/tarNN.tar.gz, so serve DIR/serve there
  root/flake.nix    the root flake, declaring every input: `path:`, `git+file://` and
                    tarball URLs; every K-th input is `flake = false` (and has no flake.nix)

Each input holds MIN-MAX small files (0-4 KiB, seeded contents) in directories of 20 files; flake
inputs also have a flake.nix without inputs. Lock the root with `nix flake lock` afterwards.
"""
import argparse
import gzip
import io
import os
import random
import subprocess
import sys
import tarfile

DATE = "@1700000000 +0000"
FLAKE_NIX = "{ outputs = { self }: { }; }\n"


def write_tree(root, rng, files, flake):
    os.makedirs(root)
    for i in range(files):
        d = os.path.join(root, f"d{i // 20:02}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:03}.txt"), "wb") as out:
            out.write(rng.randbytes(rng.randint(0, 4096)))
    if flake:
        with open(os.path.join(root, "flake.nix"), "w") as out:
            out.write(FLAKE_NIX)


def git(repo, *args):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": repo,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.org",
        "GIT_AUTHOR_DATE": DATE,
        "GIT_COMMITTER_DATE": DATE,
    }
    subprocess.run(["git", "-C", repo, *args], env=env, check=True, stdout=subprocess.DEVNULL)


def make_tarball(src, dest, top):
    """Packs `src` as `top/...`: sorted, owner 0, mtime 1700000000, gzip without a timestamp."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(path, arc):
            info = tar.gettarinfo(path, arc)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 1700000000
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            if info.isdir():
                for name in sorted(os.listdir(path)):
                    add(os.path.join(path, name), f"{arc}/{name}")
        add(src, top)
    with open(dest, "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
            gz.write(buf.getvalue())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--path", type=int, default=0)
    ap.add_argument("--git", type=int, default=0)
    ap.add_argument("--tarball", type=int, default=0)
    ap.add_argument("--url-base", default="http://127.0.0.1:8000")
    ap.add_argument("--files", default="5-20")
    ap.add_argument("--non-flake-every", type=int, default=5)
    a = ap.parse_args()
    lo, hi = (int(x) for x in a.files.split("-"))
    top = os.path.abspath(a.dir)
    os.makedirs(os.path.join(top, "inputs"))
    os.makedirs(os.path.join(top, "serve"))
    os.makedirs(os.path.join(top, "root"))
    kinds = ["path"] * a.path + ["git"] * a.git + ["tar"] * a.tarball
    # Interleave the kinds so that the non-flake inputs are spread over all of them.
    order = sorted(range(len(kinds)), key=lambda i: (i % max(1, a.path, a.git, a.tarball), i))
    decls = []
    for n, i in enumerate(order):
        kind = kinds[i]
        rng = random.Random(1000 + i)
        files = rng.randint(lo, hi)
        flake = a.non_flake_every == 0 or n % a.non_flake_every != a.non_flake_every - 1
        name = f"{kind}{i:02}"
        if kind == "path":
            d = os.path.join(top, "inputs", name)
            write_tree(d, rng, files, flake)
            url = f"path:{d}"
        elif kind == "git":
            d = os.path.join(top, "inputs", name)
            write_tree(d, rng, files, flake)
            git(d, "-c", "init.defaultBranch=main", "init", "-q")
            git(d, "add", "-A")
            git(d, "commit", "-q", "-m", f"{name}")
            url = f"git+file://{d}"
        else:
            staging = os.path.join(top, "serve", f".{name}")
            write_tree(staging, rng, files, flake)
            make_tarball(staging, os.path.join(top, "serve", f"{name}.tar.gz"), name)
            subprocess.run(["rm", "-rf", staging], check=True)
            url = f"{a.url_base}/{name}.tar.gz"
        if flake:
            decls.append(f'    {name}.url = "{url}";')
        else:
            decls.append(f'    {name} = {{ url = "{url}"; flake = false; }};')
    with open(os.path.join(top, "root", "flake.nix"), "w") as out:
        out.write("{\n  inputs = {\n")
        out.write("\n".join(decls))
        out.write("\n  };\n  outputs = { self, ... }: { };\n}\n")
    print(f"{len(kinds)} inputs under {top}", file=sys.stderr)


if __name__ == "__main__":
    main()
