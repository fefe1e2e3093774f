"""The API reference: every public name of jaxsched by family, as users type it.

The `jaxsched-api` directive writes one section per group of `GROUPS`, each with a summary
table (the name and the first line of its docstring) and then one entry per name. A schedule
is documented under its lowercase constructor (`jaxsched.cosine_decay`, the name every
example calls), followed by a short entry for its class (`jaxsched.CosineDecay`, the same
object, for `isinstance` and type hints), so both are anchors that can be linked. A name in
`jaxsched.__all__` that no group holds fails the build, so the reference cannot fall behind
the package; a new page or a new family is one more entry in `GROUPS`.

Source links: `sphinx.ext.viewcode` (offline, always the code that was built). It finds a
class under its own name only, so `viewcode-find-source` adds the lowercase names to their
module's tags and `viewcode-follow-imported` sends a re-exported alias to the module that
defines it.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.nodes import nested_parse_with_titles

import jaxsched

# Section title -> (one line on the family, the public names in it as users type them). A
# schedule's class needs no entry of its own: it is documented with its lowercase constructor.
GROUPS: dict[str, tuple[str, list[str]]] = {
    "Schedules in general": (
        "What every schedule is, and building one by name or from a config.",
        ["Schedule", "get", "from_config", "register_function", "ArrayLike"],
    ),
    "Constant, linear and polynomial": (
        "",
        [
            "constant",
            "linear",
            "polynomial_decay",
            "polynomial_ramp",
            "warmup_constant",
            "constant_factor",
        ],
    ),
    "Steps and piecewise": (
        "",
        [
            "step_decay",
            "multistep_decay",
            "piecewise_constant",
            "piecewise_constant_scales",
            "piecewise_interpolate",
        ],
    ),
    "Exponential and inverse": (
        "",
        ["exponential_decay", "warmup_exponential_decay", "inverse_time_decay", "inverse_sqrt"],
    ),
    "Cosine": ("", ["cosine_decay", "warmup_cosine_decay", "cosine_restarts", "sgdr"]),
    "Warmup-stable-decay and cooldown": (
        "",
        ["warmup_stable_decay", "warmup_stable_decay_cycles", "cooldown", "swa"],
    ),
    "Cyclic and one-cycle": (
        "",
        ["cyclic", "one_cycle", "one_cycle_momentum", "linear_onecycle", "cosine_onecycle"],
    ),
    "Other shapes": ("", ["tanh_decay", "lambda_schedule", "multiplicative", "noise"]),
    "Combinators": (
        "Schedules made of schedules; the result is again a schedule.",
        [
            "warmup",
            "join",
            "by_fraction",
            "alternate",
            "advance",
            "product",
            "Product",
            "scale",
            "clip",
            "stack",
        ],
    ),
    "Population-based training": (
        "Fields that know their kind; perturbing schedules, sampling them, and replaying what "
        "a run did.",
        [
            "Kind",
            "field_kinds",
            "perturb",
            "Perturbation",
            "search_space",
            "SearchSpace",
            "history",
        ],
    ),
    "With optax": (
        "Hyperparameters in the optimizer state: read them, scale them from outside.",
        ["inject", "current_lr", "current_hyperparams", "set_scale", "ScheduledState"],
    ),
    "Reduce on plateau": ("", ["reduce_on_plateau", "PlateauState"]),
    "Learning-rate range test": ("", ["lr_find", "LRFindResult"]),
    "Plotting": ("", ["plot"]),
}
# Methods worth their own entries.
MEMBERS = {
    "Schedule": ["__call__", "to_config"],
    "ReduceOnPlateau": ["init", "update", "value"],
    "LRFindResult": ["trimmed", "plot"],
}


def public() -> dict[str, Any]:
    """Every public name of jaxsched and its object."""
    return {name: getattr(jaxsched, name) for name in jaxsched.__all__}


def is_code(obj: Any) -> bool:
    """A class or function defined in jaxsched (not a type alias such as `ArrayLike`)."""
    defined = getattr(obj, "__module__", None) or ""
    return (inspect.isclass(obj) or inspect.isfunction(obj)) and defined.startswith("jaxsched")


def constructor_of(cls: type) -> str | None:
    """The lowercase public name that is the class `cls`, if there is one."""
    names = [n for n, obj in public().items() if obj is cls and n != cls.__name__]
    return names[0] if names else None


def undocumented() -> list[str]:
    """Public names no group of the reference holds."""
    grouped = {name for _, names in GROUPS.values() for name in names}
    # A lowercase constructor's entry documents its class too.
    classes = {obj.__name__ for n, obj in public().items() if n in grouped and is_code(obj)}
    return sorted(set(jaxsched.__all__) - grouped - classes)


def data_doc(name: str) -> list[str]:
    """The `#:` comment above a public data name, from the module that assigns it."""
    module = defining_module(name)
    docs = ModuleAnalyzer.for_module(module).find_attr_docs()
    return list(docs[("", name)])


def defining_module(name: str) -> str:
    """The module whose source defines the public `name` (classes, functions, aliases)."""
    obj = getattr(jaxsched, name)
    if is_code(obj):
        return obj.__module__
    for module in sorted(m for m in _submodules() if name in vars(importlib.import_module(m))):
        if ("", name) in ModuleAnalyzer.for_module(module).find_attr_docs():
            return module
    raise LookupError(f"no jaxsched module documents {name}")


def _submodules() -> list[str]:
    import pkgutil

    return [f"jaxsched.{m.name}" for m in pkgutil.iter_modules(jaxsched.__path__)]


def summary(name: str) -> str:
    """The first line of the name's docstring."""
    obj = getattr(jaxsched, name)
    if not is_code(obj):  # a `#:` comment: its first sentence
        return " ".join(data_doc(name)).split(". ")[0].split(" (")[0] + "."
    return (inspect.getdoc(obj) or "").splitlines()[0]


def _summary_table(names: list[str]) -> list[str]:
    lines = [".. list-table::", "   :class: api-summary", "   :widths: 35 65", ""]
    for name in names:
        lines += [f"   * - :py:obj:`~jaxsched.{name}`", f"     - {summary(name)}"]
    return [*lines, ""]


def _members(cls_name: str) -> list[str]:
    return [f"   .. automethod:: jaxsched.{cls_name}.{m}" for m in MEMBERS.get(cls_name, [])]


def entry(name: str) -> list[str]:
    """The reStructuredText of one public name's entry."""
    obj = getattr(jaxsched, name)
    if not is_code(obj):
        doc = [f"   {line}" for line in data_doc(name)]
        return [f".. py:type:: {name}", "   :module: jaxsched", "", *doc, ""]
    if inspect.isfunction(obj):
        return [f".. autofunction:: jaxsched.{name}", ""]
    if name == obj.__name__:  # a class users do not build by a lowercase name
        members = [f"   :members: {', '.join(MEMBERS[name])}"] if name in MEMBERS else []
        return [f".. autoclass:: jaxsched.{name}", *members, ""]
    cls = obj.__name__
    return [
        f".. autofunction:: jaxsched.{name}",
        "",
        f".. py:class:: {cls}",
        "   :module: jaxsched",
        "",
        f"   The class of :py:obj:`jaxsched.{name}` (``jaxsched.{name} is jaxsched.{cls}``),",
        "   for ``isinstance`` checks and type hints.",
        "",
        *_members(cls),
        "",
    ]


class JaxschedApi(Directive):
    """`.. jaxsched-api::`: the whole public API, by family."""

    def run(self) -> list[nodes.Node]:
        if undocumented():
            raise self.error(f"the API reference has no group for {undocumented()}")
        lines: list[str] = []
        for title, (intro, names) in GROUPS.items():
            lines += [title, "-" * len(title), ""]
            lines += [intro, ""] if intro else []
            lines += _summary_table(names)
            for name in names:
                lines += entry(name)
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="jaxsched-api"), node)
        return list(node.children)


def _tidy_types(app: Sphinx, domain: str, objtype: str, content: nodes.Element) -> None:
    """Types as users read them, before autodoc writes them into the entry.

    A lowercase constructor returns its class (not `__init__`'s None), and the alias inside a
    union (`ArrayLike | None`) is named as at the top level (autodoc writes its placeholder).
    """
    signature = content.parent[0]
    module, name = signature.get("module"), signature.get("fullname", "")
    annotations = app.env.current_document.autodoc_annotations.get(f"{module}.{name}")
    if domain != "py" or annotations is None:
        return
    for key, text in annotations.items():
        annotations[key] = re.sub(r"TypeAliasForwardRef\('([\w.]+)'\)", r"\1", text)
    obj = getattr(jaxsched, name, None)
    if module == "jaxsched" and objtype == "function" and is_code(obj) and inspect.isclass(obj):
        annotations["return"] = f"jaxsched.{obj.__name__}"


def _follow_alias(app: Sphinx, modname: str, fullname: str) -> str | None:
    if modname != "jaxsched" or fullname.split(".")[0] not in jaxsched.__all__:
        return None
    return defining_module(fullname.split(".")[0])


def _source_with_aliases(app: Sphinx, modname: str) -> tuple[str, dict[str, Any]] | None:
    """The module's code and tags, with a tag for each public alias defined there."""
    if not modname.startswith("jaxsched._"):
        return None
    analyzer = ModuleAnalyzer.for_module(modname)
    analyzer.find_tags()
    tags = dict(analyzer.tags)
    for name, obj in public().items():
        original = getattr(obj, "__name__", None)
        if is_code(obj) and original in tags and original != name and obj.__module__ == modname:
            tags[name] = tags[original]
        elif not is_code(obj):
            for line, text in enumerate(analyzer.code.splitlines(), start=1):
                if text.startswith(f"{name}:") or text.startswith(f"{name} ="):
                    tags[name] = ("other", line, line)
    return analyzer.code, tags


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("jaxsched-api", JaxschedApi)
    app.connect("object-description-transform", _tidy_types, priority=400)
    app.connect("viewcode-follow-imported", _follow_alias)
    app.connect("viewcode-find-source", _source_with_aliases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
