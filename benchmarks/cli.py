"""What every benchmark's command line shares; JAX-free, as the PyTorch worker parses with it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, TypeVar

from examples import flags

C = TypeVar("C")


def parse(
    config_type: type[C], argv: Sequence[str] | None, module: str, doc: str | None, **kwargs: Any
) -> tuple[C, argparse.Namespace]:
    """`flags.parse` for `python -m <module>`, described by the first paragraph of `doc`."""
    description = (doc or "").split("\n\n")[0]
    return flags.parse(
        config_type, argv, prog=f"python -m {module}", description=description, **kwargs
    )
