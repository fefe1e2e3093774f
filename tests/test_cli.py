"""Every entry point under examples/ and benchmarks/ answers --help and refuses an unknown
flag in one line. The entry points are found, not listed: any module with a `__main__` guard
and any package with a `__main__.py`, so that a new one cannot be left out."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mnist_helpers import REPO

# Runs each entry point as `python -m` does (runpy), twice, in one process: the benchmarks
# import JAX at module level, and one import for all of them keeps the test at seconds.
_RUNNER = """
import contextlib, io, json, runpy, sys, warnings

# runpy warns when a module it runs was imported by one run before it.
warnings.filterwarnings("ignore", "'.*' found in sys.modules", RuntimeWarning)

def run(module, *argv):
    sys.argv = [module, *argv]
    out, err = io.StringIO(), io.StringIO()
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as e:
            code = e.code
        except BaseException as e:
            err.write(f"Traceback: {type(e).__name__}: {e}")
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}

print(json.dumps({m: [run(m, "--help"), run(m, "--no-such-flag")] for m in sys.argv[1:]}))
"""


def _has_main_guard(path: Path) -> bool:
    for node in ast.parse(path.read_text()).body:
        test = node.test if isinstance(node, ast.If) else None
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        ):
            return True
    return False


def entry_points() -> list[str]:
    """The modules `python -m` can run under examples/ and benchmarks/."""
    found = []
    for root in ("examples", "benchmarks"):
        for path in sorted(Path(REPO, root).rglob("*.py")):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            if path.name == "__main__.py":
                found.append(module.removesuffix(".__main__"))
            elif _has_main_guard(path):
                found.append(module)
    return found


@pytest.fixture(scope="module")
def answers() -> dict[str, list[dict]]:
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, *entry_points()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def _option_entries(help_text: str) -> dict[str, str]:
    """Each option of a --help text and its description, wrapped lines joined."""
    lines = help_text.split("\noptions:\n", 1)[1].split("\n\n")[0].splitlines()
    entries: dict[str, str] = {}
    for line in lines:
        if line.startswith("  -"):
            names, _, description = line.strip().partition("  ")
            entries[names] = description
        else:
            entries[names] += " " + line
    return {names: " ".join(text.split()) for names, text in entries.items()}


def test_the_entry_points_are_found():
    found = entry_points()
    for module in ("examples.mnist.main", "examples.compare.study", "benchmarks.accelerator",
                   "benchmarks.accelerator.prepare", "examples.optax_chains"):  # fmt: skip
        assert module in found
    assert "examples.flags" not in found


@pytest.mark.parametrize("module", entry_points())
def test_help_lists_every_flag_with_its_meaning_and_default(answers, module):
    answer, _ = answers[module]
    assert answer["code"] in (0, None) and answer["err"] == "", answer["err"][-2000:]
    assert answer["out"].startswith("usage: ")
    for names, description in _option_entries(answer["out"]).items():
        assert description, f"{names} has no description"
        if names != "-h, --help":
            assert "(default:" in description, f"{names}: {description}"


@pytest.mark.parametrize("module", entry_points())
def test_an_unknown_flag_is_refused_in_one_line_with_status_2(answers, module):
    _, answer = answers[module]
    assert answer["code"] == 2 and answer["out"] == ""
    assert re.fullmatch(r".*: error: unrecognized arguments: --no-such-flag\n", answer["err"])
