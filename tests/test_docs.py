"""The documentation cannot drift from the code: every Python block in it runs here.

The READMEs count as documentation: their Python blocks run too.

Each page's blocks run in order in one namespace, as a reader would paste them. The site
itself is built with warnings as errors by `.ci/run` (`sphinx -W`); these tests also check
that its generated parts cover the package: a figure for every registered schedule, an API
entry for every public name.
"""

from __future__ import annotations

import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
DOCS = ROOT / "docs"
# The site's pages, and the READMEs a user reads first.
PAGES = [
    *sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts),
    ROOT / "README.md",
    *sorted(ROOT.glob("examples/*/README.md")),
    ROOT / "benchmarks" / "README.md",
]
sys.path.insert(0, str(DOCS / "_ext"))

import api_reference  # noqa: E402
import catalogue  # noqa: E402


def python_blocks(path: pathlib.Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_on_the_page_runs(page: pathlib.Path, capsys) -> None:
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    for i, block in enumerate(python_blocks(page)):
        exec(compile(block, f"{page.relative_to(ROOT)}#block{i}", "exec"), namespace)


def test_the_pages_have_code_to_run() -> None:
    assert sum(len(python_blocks(p)) for p in PAGES) >= 12


def test_the_catalogue_draws_every_registered_schedule() -> None:
    assert catalogue.missing() == []


def test_the_api_reference_holds_every_public_name() -> None:
    assert api_reference.undocumented() == []
