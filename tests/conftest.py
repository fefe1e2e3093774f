"""Strict JAX settings for every test, as in equinox: implicit rank promotion is an error.

The functions of the step in `tests/reference.py` are registered with
`jaxsched.register_function`: the golden cases' configs name them, and configs may name only
allowed functions.

Under CI (the `CI` environment variable), hypothesis is derandomized so that a run is
reproducible; developers' runs keep exploring new examples.

A test module that needs a module of an extra that is not installed (flax, orbax, equinox,
sphinx, ...) is skipped at collection, with the missing module as the reason: its import
fails on it, or it imports the repo's examples or benchmarks (which need flax and orbax), or it
runs `python -m` that module. That is how the floor leg of `.ci/run`, which installs only
`jaxsched[plot]`, pytest, pytest-xdist and hypothesis, selects the library's tests: a new test
module is in it unless it needs an extra. Any other import error still fails, and so does a
missing extra where `JAXSCHED_REQUIRE_EXTRAS` is set (the first leg of `.ci/run`, where every
extra is installed).
"""

import ast
import importlib.util
import itertools
import os
import pathlib
import sys

import jax
import matplotlib
import pytest
from hypothesis import settings

import jaxsched
from tests import reference

for function in (
    reference.inverse_power,
    reference.shrinking_factor,
    reference.halving,
    reference.damped,
    reference.geometric,
    reference.ninety_percent,
):
    jaxsched.register_function(function)

matplotlib.use("Agg")
# Each xdist worker on a core of its own (gw0 on the first allowed core, gw1 on the next, ...),
# set before JAX starts its CPU backend: XLA then sizes its thread pools to one core instead of
# every worker's pools spinning on all of them. The processes a test starts inherit the core.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and hasattr(os, "sched_setaffinity"):  # Linux
    _cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {_cores[int(_worker[2:]) % len(_cores)]})
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The top-level modules of pyproject.toml's extras that test modules import, and their extra.
EXTRA_OF_MODULE = {
    "flax": "examples",
    "orbax": "examples",
    "tensorflow_datasets": "examples",
    "tqdm": "examples",
    "equinox": "dev",
    "build": "dev",
    "twine": "dev",
    "sphinx": "docs",
    "myst_parser": "docs",
    "furo": "docs",
    "docutils": "docs",
}
ROOT = pathlib.Path(__file__).resolve().parent.parent
# The repo's examples and benchmarks need the examples extra; so do the tests that import
# them, or the helpers for them, even when they run them in a subprocess.
EXAMPLES_CODE = ("examples", "benchmarks", "tests.mnist_helpers")


def _missing_for(path: pathlib.Path) -> str | None:
    """A module of an extra that the test module at `path` runs but cannot import: one that
    the repo's examples need, where it imports them, or one it runs as `python -m MODULE`."""
    needed = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        if any(n == m or n.startswith(m + ".") for n in names for m in EXAMPLES_CODE):
            needed |= {"flax", "orbax"}
        if isinstance(node, ast.List):
            words = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            needed |= {m for flag, m in itertools.pairwise(words) if flag == "-m"}
    return next((m for m in sorted(needed & set(EXTRA_OF_MODULE)) if not _installed(m)), None)


def _installed(module: str) -> bool:
    """Importable from the environment, not from a folder of the repo: the repo's `build/`
    imports as a namespace package, and orbax is one."""
    spec = importlib.util.find_spec(module)
    places = [] if spec is None else spec.submodule_search_locations or [spec.origin]
    environment = pathlib.Path(sys.prefix).resolve()
    return any(
        path.is_relative_to(environment) or not path.is_relative_to(ROOT)
        for path in (pathlib.Path(p).resolve() for p in places if p)
    )


class _ModuleOfAnExtra(pytest.Module):
    """A test module that is skipped, not failed, when a module of an extra is missing."""

    def collect(self):
        if os.environ.get("JAXSCHED_REQUIRE_EXTRAS"):
            return super().collect()
        if missing := _missing_for(self.path):
            extra = EXTRA_OF_MODULE[missing]
            reason = f"{self.path.name} runs code that needs {missing}, of the {extra!r} extra"
            raise pytest.skip.Exception(reason)
        try:
            self.obj  # noqa: B018 (imports the module)
        except pytest.Collector.CollectError as error:
            cause = error.__cause__
            if not isinstance(cause, ModuleNotFoundError) or not cause.name:
                raise
            extra = EXTRA_OF_MODULE.get(cause.name.partition(".")[0])
            if extra is None:
                raise
            reason = f"{self.path.name} imports {cause.name}, of the {extra!r} extra"
            raise pytest.skip.Exception(reason) from None
        return super().collect()


def pytest_pycollect_makemodule(module_path, parent):
    return _ModuleOfAnExtra.from_parent(parent, path=module_path)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """The tests' own files hold no doctests: `--doctest-modules` (for jaxsched's docstrings)
    does not import them a second time, so only `_ModuleOfAnExtra` decides about a module."""
    collectors = yield
    return [
        c for c in collectors if isinstance(c, _ModuleOfAnExtra) or not isinstance(c, pytest.Module)
    ]


# The test files that take longest, longest first: they go to the workers before the rest
# (pyproject's `--no-loadscope-reorder` keeps this order instead of xdist's most-tests-first),
# so that no long file starts last and leaves the other worker idle at the end of the run.
# In-process plus subprocess CPU seconds of one run, in BUILD_NOTES.md (issue 18, session 29).
LONGEST_FIRST = (
    "test_properties.py",
    "test_compare.py",
    "test_parity.py",
    "test_mnist_distributed.py",
    "test_pbt.py",
    "test_inject.py",
    "test_pytree.py",
    "test_docs_site.py",
    "test_mnist_sharding.py",
    "test_mnist_hostile.py",
    "test_mnist_core.py",
    "test_mnist_resume.py",
    "test_validation.py",
    "test_package.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest in order
