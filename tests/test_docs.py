"""The documentation cannot drift from the code: every block runs and every output is compared.

A page's code is ```python blocks (set-up, run as they stand) and ```pycon blocks (`>>>`
prompts followed by what the line prints, compared as doctest does). The blocks of a page
run in order in one namespace, as a reader would paste them. The READMEs count as pages.

What a page prints is always shown: a ```python block may not call `print`, and every page
with code shows at least one output. The site itself (built with warnings as errors) is
checked in `tests/test_docs_site.py`.
"""

from __future__ import annotations

import doctest
import pathlib
import re
import sys

import pytest

import jaxsched

ROOT = pathlib.Path(__file__).parent.parent
DOCS = ROOT / "docs"
# The site's pages, and the READMEs a user reads first.
PAGES = [
    *sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts),
    ROOT / "README.md",
    *sorted(ROOT.glob("examples/*/README.md")),
    *sorted(ROOT.glob("benchmarks/**/README.md")),
]
sys.path.insert(0, str(DOCS / "_ext"))

import api_reference  # noqa: E402
import catalogue  # noqa: E402
import offline_inventories  # noqa: E402

BLOCK = re.compile(r"^```(python|pycon)\n(.*?)^```", flags=re.S | re.M)
# Exact outputs, as a reader sees them; `...` stands for a part that varies between machines.
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def code_blocks(path: pathlib.Path) -> list[tuple[str, str]]:
    """The page's (language, code) blocks, in order."""
    return BLOCK.findall(path.read_text())


def run_page(name: str, blocks: list[tuple[str, str]]) -> list[str]:
    """Runs the blocks in one namespace; returns a report per pycon output that differs."""
    namespace: dict = {"__name__": f"docs.{name}"}
    failures: list[str] = []
    for i, (language, code) in enumerate(blocks):
        where = f"{name}#block{i}"
        if language == "python":
            exec(compile(code, where, "exec"), namespace)
            continue
        test = doctest.DocTestParser().get_doctest(code, namespace, where, where, 0)
        assert test.examples, f"{where}: a pycon block without a >>> line"
        report: list[str] = []
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        runner.run(test, out=report.append, clear_globs=False)
        failures += report
    return failures


def rel(path: pathlib.Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_block_on_the_page_runs_and_prints_what_it_shows(page: pathlib.Path) -> None:
    failures = run_page(rel(page), code_blocks(page))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_a_page_shows_what_its_code_prints(page: pathlib.Path) -> None:
    blocks = code_blocks(page)
    hidden = [i for i, (lang, code) in enumerate(blocks) if lang == "python" and "print(" in code]
    assert not hidden, f"blocks {hidden} print without showing it: make the prints pycon"
    if blocks:
        assert any(lang == "pycon" for lang, _ in blocks), "code, but no output shown"


def test_a_wrong_printed_value_fails() -> None:
    shown = [("python", "x = 0.5\n"), ("pycon", ">>> print(x * 2)\n1.0\n")]
    assert run_page("ok", shown) == []
    wrong = [("python", "x = 0.5\n"), ("pycon", ">>> print(x * 2)\n1.5\n")]
    assert "Expected:\n    1.5\nGot:\n    1.0" in "".join(run_page("wrong", wrong))


def test_the_pages_have_code_and_outputs() -> None:
    blocks = [b for p in PAGES for b in code_blocks(p)]
    assert sum(lang == "pycon" for lang, _ in blocks) >= 12


def test_the_catalogue_draws_every_public_schedule() -> None:
    assert catalogue.missing() == []


def test_the_catalogue_draws_the_readme_table_in_its_order() -> None:
    names = [name for name, _ in catalogue.figures()]
    table = catalogue.table_names()
    assert names[: len(table)] == table


def test_the_catalogue_figures_are_called_as_a_user_writes_them() -> None:
    for name, code in catalogue.figures():
        assert catalogue.call(code).startswith(f"jaxsched.{name}("), code
        assert not re.search(r"\d\.\d{5,}", code), code  # no 0.3333333333333333
        assert all(len(line) <= 80 for line in code.splitlines()), code


def test_the_api_reference_holds_every_public_name() -> None:
    assert api_reference.undocumented() == []


def test_a_public_name_in_no_api_group_is_reported(monkeypatch) -> None:
    monkeypatch.setattr(jaxsched, "__all__", [*jaxsched.__all__, "new_schedule"])
    monkeypatch.setattr(jaxsched, "new_schedule", jaxsched.CosineDecay, raising=False)
    assert api_reference.undocumented() == ["new_schedule"]


def test_the_offline_inventories_load_as_sphinx_reads_them(tmp_path: pathlib.Path) -> None:
    from sphinx.util.inventory import InventoryFile

    for project, (base, entries) in offline_inventories.INVENTORIES.items():
        path = tmp_path / f"{project}.inv"
        offline_inventories.write_inventory(project, entries, path)
        items = InventoryFile.loads(path.read_bytes(), uri=base).data
        urls = {name: item.uri for kind in items.values() for name, item in kind.items()}
        assert urls == {n: offline_inventories.urls()[n] for n, _, _ in entries}
        # Each target is the page of the name's own documentation, anchored at the name.
        assert all(url.startswith(base) and url.endswith(f"#{n}") for n, url in urls.items())


def test_private_paths_in_type_hints_resolve_under_their_public_names() -> None:
    public = offline_inventories.public_name
    assert public("optax._src.base.GradientTransformation") == "optax.GradientTransformation"
    assert public("jax.jaxlib._jax.Array") == "jax.Array"
    assert public("jaxsched._combine.Join") == "jaxsched.Join"
    assert public("collections.abc.Sequence") == "collections.abc.Sequence"
