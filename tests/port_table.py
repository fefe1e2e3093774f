"""The porting table of `docs/porting.md`, rendered from the port cases of the golden data.

Each port case in `golden/golden.json` (a `"port"` entry in `cases` or `stateful`) holds the
peer's call as the table shows it, the `jaxsched.get` call in the peer's words and the same
schedule in jaxsched's own words; `golden/generate.py` records the peer's values for it and
writes the table with `render`. `tests/test_port.py` renders it again from the JSON and
compares it with the page, then runs every call in it against the recorded values, so the
table, the code and the peers cannot drift apart.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

GOLDEN = pathlib.Path(__file__).parent / "golden" / "golden.json"
PAGE = pathlib.Path(__file__).parent.parent / "docs" / "porting.md"
START, END = "<!-- port-table:start -->", "<!-- port-table:end -->"
LIBRARIES = {
    "torch": "PyTorch (`torch.optim.lr_scheduler`; the optimizer built with `lr=0.1`)",
    "transformers": "transformers (the optimizer built with `lr=0.1`)",
    "timm": "timm (`timm.scheduler`; the optimizer built with `lr=0.1`)",
    "keras": "Keras (`keras.optimizers.schedules`)",
}


def port_entries(golden: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry with a `"port"` part, in file order: schedules, stateful ones, refusals."""
    entries = [*golden["cases"], *golden.get("stateful", []), *golden.get("refused", [])]
    return [c for c in entries if "port" in c]


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "-"


def _entry(port: dict[str, Any]) -> list[str]:
    own = _code(port["own"]) if port["own"] else port["refused"]
    call = f"  - by name, in the peer's words: {_code(port['call'])}" if port["call"] else None
    lines = [
        f"- {_code(port['peer'])}",
        *([call] if call else []),
        f"  - in jaxsched's words: {own}",
    ]
    return lines


def render(golden: dict[str, Any]) -> str:
    """The Markdown between the page's markers: a list per library, an item per scheduler.

    A list rather than a table: the calls are too long for three columns of the page.
    """
    lines = [START]
    for library, title in LIBRARIES.items():
        lines += ["", f"### {title}", ""]
        for case in port_entries(golden):
            if case["port"]["library"] == library:
                lines += _entry(case["port"])
    lines += ["", END]
    return "\n".join(lines)


def page_table(text: str) -> str:
    """The page's table block, markers included."""
    return text[text.index(START) : text.index(END) + len(END)]


def write(golden: dict[str, Any]) -> None:
    """Writes the rendered table into the page, between its markers."""
    text = PAGE.read_text()
    PAGE.write_text(text.replace(page_table(text), render(golden)))


def load() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())
