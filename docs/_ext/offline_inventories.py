"""Intersphinx without a network: small inventories of the names the site links to.

The site is built offline, so `sphinx.ext.intersphinx` cannot download the other projects'
`objects.inv`. `INVENTORIES` lists, for each project, the names this site references and
where each one is documented there; at start-up this extension writes them as inventory
files (the format `objects.inv` uses) under `docs/_generated/inventories/` and points
intersphinx at them, with the projects' real base URLs. The pages were read from the
projects' documentation sources: jax's `_autosummary` pages, optax's `docs/api/*.rst`
(`currentmodule:: optax`), flax NNX's `docs_nnx/api_reference/flax.nnx/` (the optimizer is
documented as `flax.nnx.optimizer.Optimizer`), CPython's `library/` and NumPy's
`reference/generated/`. `nitpicky = True` makes a reference that no inventory holds a build
error, and `tests/test_docs_site.py` checks that every entry here is linked from the site.
"""

from __future__ import annotations

import pathlib
import zlib
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.ext import intersphinx

# project -> (base URL, [(name, role, page and anchor under the base URL)])
INVENTORIES: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "python": (
        "https://docs.python.org/3/",
        [
            (f"collections.abc.{name}", "class", "library/collections.abc.html#$")
            for name in ("Callable", "Iterable", "Mapping", "Sequence")
        ]
        + [("os.PathLike", "class", "library/os.html#$")],
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        [("numpy.ndarray", "class", "reference/generated/numpy.ndarray.html#$")],
    ),
    "jax": (
        "https://docs.jax.dev/en/latest/",
        [("jax.Array", "class", "_autosummary/jax.Array.html#$")]
        + [
            (f"jax.{f}", "function", f"_autosummary/jax.{f}.html#$")
            for f in ("jit", "vmap", "grad")
        ],
    ),
    "optax": (
        "https://optax.readthedocs.io/en/latest/",
        [
            ("optax.GradientTransformation", "class", "api/transformations.html#$"),
            ("optax.GradientTransformationExtraArgs", "class", "api/transformations.html#$"),
            ("optax.sgd", "function", "api/optimizers.html#$"),
            ("optax.adamw", "function", "api/optimizers.html#$"),
        ],
    ),
    "flax": (
        "https://flax.readthedocs.io/en/latest/",
        [
            (
                "flax.nnx.optimizer.Optimizer",
                "class",
                "api_reference/flax.nnx/training/optimizer.html#$",
            ),
            ("flax.nnx.jit", "function", "api_reference/flax.nnx/transforms.html#$"),
        ],
    ),
}
OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "_generated" / "inventories"


def write_inventory(project: str, entries: list[tuple[str, str, str]], path: pathlib.Path) -> None:
    """Writes an inventory in Sphinx's version 2 format (a header, then zlib lines)."""
    header = f"# Sphinx inventory version 2\n# Project: {project}\n# Version: \n"
    header += "# The remainder of this file is compressed using zlib.\n"
    lines = "".join(f"{name} py:{role} 1 {uri} -\n" for name, role, uri in sorted(entries))
    path.write_bytes(header.encode() + zlib.compress(lines.encode()))


def urls() -> dict[str, str]:
    """Every entry's full URL, by name."""
    return {
        name: base + uri.replace("$", name)
        for base, entries in INVENTORIES.values()
        for name, _, uri in entries
    }


def _configure(app: Sphinx, config: Config) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for project, (base, entries) in INVENTORIES.items():
        path = OUTPUT / f"{project}.inv"
        write_inventory(project, entries, path)
        mapping[project] = (base, str(path))
    config.intersphinx_mapping = mapping


def public_name(target: str) -> str:
    """`optax._src.base.GradientTransformation` -> `optax.GradientTransformation`.

    Type hints name a class by the private module that defines it; the projects document it
    under the public name.
    """
    parts = target.split(".")
    private = [i for i, part in enumerate(parts) if part.startswith("_")]
    return f"{parts[0]}.{parts[-1]}" if private and len(parts) > 2 else target


def _resolve_public(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    """Resolves a reference to a private path under its public name, here or in an inventory."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or public_name(target) == target:
        return None
    node["reftarget"] = public_name(target)
    domain = env.domains["py"]
    found = domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], node["reftarget"], node, contnode
    )
    return found if found is not None else intersphinx.missing_reference(app, env, node, contnode)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.intersphinx")
    app.connect("config-inited", _configure, priority=100)
    app.connect("missing-reference", _resolve_public, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
