"""The API reference: every public name of jaxsched, from its docstring.

The `jaxsched-api` directive writes autodoc entries for the schedules in the registry (the
CamelCase class, with its lowercase constructor named), then for the other public names
grouped by what they do. A name in `jaxsched.__all__` that no group holds fails the build,
so the reference cannot fall behind the package.
"""

from __future__ import annotations

from typing import Any

from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.nodes import nested_parse_with_titles

import jaxsched
from jaxsched._config import REGISTRY

# The public names that are not schedules, by section.
GROUPS: dict[str, list[str]] = {
    "Building schedules": [
        "Schedule",
        "get",
        "from_config",
        "register_function",
        "product",
        "sgdr",
        "stack",
        "plot",
    ],
    "With optax": [
        "inject",
        "current_lr",
        "current_hyperparams",
        "set_scale",
        "ScheduledState",
    ],
    "Reduce on plateau": ["ReduceOnPlateau", "PlateauState", "reduce_on_plateau"],
    "Learning-rate range test": ["lr_find", "LRFindResult"],
}
# Methods worth their own entries.
MEMBERS = {
    "Schedule": "__call__, to_config",
    "ReduceOnPlateau": "init, update, value",
    "LRFindResult": "trimmed, plot",
}


def constructors() -> dict[str, str]:
    """Class name -> the lowercase public names that are the same class."""
    names: dict[str, list[str]] = {}
    for name in jaxsched.__all__:
        value = getattr(jaxsched, name)
        if isinstance(value, type) and name != value.__name__:
            names.setdefault(value.__name__, []).append(name)
    return {cls: ", ".join(f"`jaxsched.{n}`" for n in sorted(ns)) for cls, ns in names.items()}


def undocumented() -> list[str]:
    """Public names no section of the reference holds."""
    classes = {cls.__name__ for cls in REGISTRY.values()}
    documented = set(classes) | {n for group in GROUPS.values() for n in group}
    aliases = {
        n for n in jaxsched.__all__ if getattr(getattr(jaxsched, n), "__name__", n) in classes
    }
    return sorted(set(jaxsched.__all__) - documented - aliases)


def _entry(name: str, lowercase: dict[str, str]) -> list[str]:
    value = getattr(jaxsched, name)
    if isinstance(value, type) and name != value.__name__:
        return []  # the lowercase name of a class documented under its own name
    kind = "autoclass" if isinstance(value, type) else "autofunction"
    lines = [f".. {kind}:: jaxsched.{name}"]
    if name in MEMBERS:
        lines.append(f"   :members: {MEMBERS[name]}")
    if name in lowercase:
        lines += ["", f"   Constructor: {lowercase[name].replace('`', '``')}."]
    return [*lines, ""]


class JaxschedApi(Directive):
    """`.. jaxsched-api::`: the whole public API."""

    def run(self) -> list[Any]:
        if undocumented():
            raise self.error(f"the API reference has no section for {undocumented()}")
        lowercase = constructors()
        lines: list[str] = ["Schedules", "=========", ""]
        for cls in sorted(REGISTRY.values(), key=lambda c: c.__name__):
            lines += _entry(cls.__name__, lowercase)
        for title, names in GROUPS.items():
            lines += [title, "=" * len(title), ""]
            for name in names:
                lines += _entry(name, lowercase)
        container = StringList(lines, source="jaxsched-api")
        from docutils import nodes

        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, container, node)
        return list(node.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("jaxsched-api", JaxschedApi)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
