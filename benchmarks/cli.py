"""What the benchmark CLIs share: the flags idiom and the versions they report; JAX-free (the
PyTorch worker uses it)."""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Sequence
from typing import Any, TypeVar

from examples import flags

C = TypeVar("C")


def parse(
    config_type: type[C], argv: Sequence[str] | None, module: str, doc: str | None, **kwargs: Any
) -> tuple[C, argparse.Namespace]:
    """`flags.parse` for `python -m <module>`, described by the first paragraph of `doc`."""
    return flags.parse(config_type, argv, prog=f"python -m {module}", description=doc, **kwargs)


def package_version(package: str) -> str | None:
    """An installed package's version, read from its metadata without importing it; None where
    it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
