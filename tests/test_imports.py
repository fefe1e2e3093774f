"""How the code imports: no circle, no test module importing another (their shared code lives
in helper modules), the floor leg's skip of the test modules that need an extra, a written
reason beside every function-local import in the examples, and no JAX where a module or a
command says it needs none."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest
from tests.mnist_helpers import REPO

PACKAGES = ("examples", "jaxsched", "tests")


def _modules(package: str) -> dict[str, Path]:
    return {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): path
        for path in Path(REPO, package).rglob("*.py")
    }


def _imported(module: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The modules of `known` that `tree` imports anywhere, function bodies included."""
    found = set()
    package = module if module in known and not module.count(".") else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in known}
    return found - {module}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in `graph`, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    return next((c for node in sorted(graph) if node not in state and (c := visit(node))), None)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_itself_through_others(package):
    modules = _modules(package)
    known = set(modules)
    graph = {m: _imported(m, ast.parse(p.read_text()), known) for m, p in modules.items()}
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _test_modules_imported_by_tests(modules: dict[str, Path]) -> list[str]:
    """`a imports b` for every test module a that imports another test module b."""
    tests = {m for m in modules if m.rpartition(".")[2].startswith("test_")}
    found = []
    for module in sorted(tests):
        imported = _imported(module, ast.parse(modules[module].read_text()), set(modules))
        found += [f"{module} imports {other}" for other in sorted(imported & tests)]
    return found


def test_no_test_module_imports_another_test_module():
    assert _test_modules_imported_by_tests(_modules("tests")) == []


def test_the_test_import_check_finds_one(tmp_path):
    (tmp_path / "test_a.py").write_text("from tests.test_b import helper\n")
    (tmp_path / "test_b.py").write_text("from tests import specs\n")
    (tmp_path / "specs.py").write_text("")
    modules = {f"tests.{p.stem}": p for p in tmp_path.glob("*.py")}
    assert _test_modules_imported_by_tests(modules) == ["tests.test_a imports tests.test_b"]


def test_the_floor_leg_skips_a_module_that_runs_code_of_a_missing_extra(tmp_path, monkeypatch):
    files = {
        "test_library.py": "import jaxsched\nimport numpy\n",
        "test_trainer.py": "from examples.mnist import data\n",
        "test_helpers.py": "from tests.mnist_helpers import REPO\n",
        "test_build.py": "import sys\nARGS = [sys.executable, '-m', 'build', '--wheel']\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert conftest._installed("numpy") and not conftest._installed("no_such_module")
    monkeypatch.setattr(conftest, "_installed", lambda module: module not in ("orbax", "build"))
    found = {name: conftest._missing_for(tmp_path / name) for name in files}
    assert found == {
        "test_library.py": None,
        "test_trainer.py": "orbax",
        "test_helpers.py": "orbax",
        "test_build.py": "build",
    }


def _explained(lines: list[str], node: ast.stmt) -> bool:
    """Whether a comment is on the import's line or above it, past other imports of its
    block (blank lines and `matplotlib.use` between them)."""
    index = node.lineno - 1
    while "#" not in lines[index]:
        index -= 1
        stripped = lines[index].strip()
        if not (stripped.startswith(("import ", "from ", "matplotlib.use")) or not stripped):
            return stripped.startswith("#")
    return True


def test_every_function_local_import_in_examples_says_why():
    unexplained = []
    for module, path in _modules("examples").items():
        lines = path.read_text().splitlines()
        for function in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and not _explained(lines, node):
                    unexplained.append(f"{module}:{node.lineno}: {lines[node.lineno - 1]}")
    assert not unexplained, "\n".join(unexplained)


# The trainer's command answers --help without importing JAX; the reports and the config
# modules are plain Python.
_NO_JAX = """
import contextlib, io, json, runpy, sys
for module in ("examples.mnist.main", "examples.mnist.fetch_mnist"):
    sys.argv = [module, "--help"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        runpy.run_module(module, run_name="__main__", alter_sys=True)
import examples.compare.report, examples.mnist.report, examples.mnist.configs, examples.flags
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in ("jax", "flax"))))
"""


def test_the_trainers_help_and_the_reports_import_no_jax():
    done = subprocess.run(
        [sys.executable, "-c", _NO_JAX], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
