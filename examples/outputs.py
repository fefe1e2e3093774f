"""The two files every study-like CLI writes into its `--out` folder: results.json (every
figure the run measured) and table.md (what its README shows). `--replot` reads the first
back and rewrites the second without training anything."""

from __future__ import annotations

import json
import os
from typing import Any


def read_results(out: str) -> Any:
    """`out`/results.json, as a previous run wrote it."""
    with open(os.path.join(out, "results.json")) as f:
        return json.load(f)


def write_results(out: str, results: Any) -> None:
    """Writes `results` to `out`/results.json, creating `out` if needed."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


def write_table(out: str, text: str) -> None:
    """Writes the markdown `text` to `out`/table.md, creating `out` if needed."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text)
