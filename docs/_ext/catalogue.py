"""The catalogue page: one figure per schedule, drawn from the code at build time.

The `schedule-catalogue` directive renders a section per entry of `GALLERY`, in the order of
the README's catalogue table (its single source), then the combinators the table leaves out:
a link to the schedule's API entry with the first line of its docstring, the code that makes
the figure as a user writes it, and the figure, written to `docs/_generated/` (never
committed). A public schedule class that no entry draws, or a table row without a figure,
fails the build, and `tests/test_docs.py` says which.

`schedule-figure` draws one schedule anywhere (the index page's figure).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import pathlib
import re
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx import addnodes
from sphinx.application import Sphinx

import jaxsched

STEPS = 1000
# name -> the code that makes the figure; its last statement is the schedule drawn.
GALLERY: dict[str, str] = {
    "constant": "jaxsched.constant(0.1)",
    "linear": "jaxsched.linear(0.1, 0.01, transition_steps=600, transition_begin=200)",
    "polynomial_decay": "jaxsched.polynomial_decay(0.1, 0.001, decay_steps=800, power=2.0)",
    "step_decay": "jaxsched.step_decay(0.1, step_size=250, decay_rate=0.5)",
    "multistep_decay": "jaxsched.multistep_decay(0.1, milestones=(500, 750))",
    "piecewise_constant": (
        "jaxsched.piecewise_constant(boundaries=(300, 700), values=(0.1, 0.05, 0.01))"
    ),
    "polynomial_ramp": "jaxsched.polynomial_ramp(0.1, 0.001, transition_steps=800, power=0.5)",
    "exponential_decay": "jaxsched.exponential_decay(0.1, decay_rate=0.5, transition_steps=200)",
    "inverse_time_decay": "jaxsched.inverse_time_decay(0.1, decay_rate=1.0, decay_steps=100)",
    "inverse_sqrt": "jaxsched.inverse_sqrt(0.1, warmup_steps=100)",
    "cosine_decay": "jaxsched.cosine_decay(0.1, decay_steps=800, end_value=0.01)",
    "warmup_cosine_decay": (
        "jaxsched.warmup_cosine_decay(0.0, 0.1, warmup_steps=100, decay_steps=900)"
    ),
    "warmup_stable_decay": """jaxsched.warmup_stable_decay(
    0.1, total_steps=900, warmup_steps=50, decay_steps=200, decay_shape="1-sqrt"
)""",
    "warmup_stable_decay_cycles": """jaxsched.warmup_stable_decay_cycles(
    0.1,
    cycle_ends=(400, 1000),
    warmup_steps=50,
    decay_steps=100,
    rewarmup_steps=50,
)""",
    "warmup_constant": "jaxsched.warmup_constant(0.0, 0.1, warmup_steps=200)",
    "warmup_exponential_decay": """jaxsched.warmup_exponential_decay(
    0.0, 0.1, warmup_steps=100, transition_steps=200, decay_rate=0.5
)""",
    "cosine_restarts": "jaxsched.cosine_restarts(0.1, first_decay_steps=100, t_mul=2.0, m_mul=0.8)",
    "sgdr": """jaxsched.sgdr([
    dict(init_value=0.0, peak_value=0.1, warmup_steps=50, decay_steps=400),
    dict(init_value=0.0, peak_value=0.05, warmup_steps=50, decay_steps=600),
])""",
    "cyclic": 'jaxsched.cyclic(0.01, 0.1, step_size_up=100, mode="triangular2")',
    "one_cycle": "jaxsched.one_cycle(0.1, total_steps=1000)",
    "one_cycle_momentum": "jaxsched.one_cycle_momentum(total_steps=1000)",
    "tanh_decay": "jaxsched.tanh_decay(0.1, 0.001, decay_steps=900)",
    "linear_onecycle": "jaxsched.linear_onecycle(1000, peak_value=0.1)",
    "cosine_onecycle": "jaxsched.cosine_onecycle(1000, peak_value=0.1)",
    "piecewise_interpolate": "jaxsched.piecewise_interpolate(0.1, {200: 0.5, 600: 0.1, 900: 0.5})",
    "piecewise_constant_scales": "jaxsched.piecewise_constant_scales(0.1, {300: 0.5, 600: 0.2})",
    "constant_factor": "jaxsched.constant_factor(0.1, factor=1/3, transition_steps=300)",
    "lambda_schedule": """def halve_every(step, period):
    return 0.5 ** (step // period)


jaxsched.lambda_schedule(halve_every, 0.1, params={"period": 250})""",
    "multiplicative": """def odd_steps_decay(step, rate):
    return jnp.where(step % 2 == 1, rate, 1.0)


jaxsched.multiplicative(odd_steps_decay, 1000, 0.1, params={"rate": 0.995})""",
    "swa": "jaxsched.swa(0.1, swa_value=0.02, anneal_steps=300)",
    "cooldown": """stable = jaxsched.warmup(jaxsched.constant(0.1), warmup_steps=50)
jaxsched.cooldown(stable, start_step=700, decay_steps=200)""",
    "noise": "jaxsched.noise(jaxsched.cosine_decay(0.1, 1000), noise_start=200, noise_pct=0.2)",
    # Combinators, which the README's table leaves out.
    "warmup": "jaxsched.warmup(jaxsched.exponential_decay(0.1, 0.5, 200), warmup_steps=100)",
    "join": """jaxsched.join(
    [jaxsched.linear(0.0, 0.1, 100), jaxsched.cosine_decay(0.1, 900)],
    boundaries=[100],
)""",
    "by_fraction": """jaxsched.by_fraction(
    1000,
    fractions=[0.1, 0.7, 0.2],
    schedules=[
        jaxsched.linear(0.0, 0.1, 100),
        jaxsched.constant(0.1),
        jaxsched.linear(0.1, 0.0, 200),
    ],
)""",
    "product": """jaxsched.product(
    jaxsched.cosine_decay(0.1, 1000),
    jaxsched.cyclic(0.5, 1.0, step_size_up=100),
)""",
    "scale": "jaxsched.scale(jaxsched.cosine_decay(1.0, 1000), 0.1)",
    "clip": "jaxsched.clip(jaxsched.exponential_decay(0.1, 0.5, 100), min_value=0.01)",
    "alternate": """jaxsched.alternate(
    [jaxsched.cosine_decay(0.1, 1000), jaxsched.cosine_decay(0.05, 500)],
    steps=[150, 50],
)""",
    "advance": """schedule = jaxsched.warmup(jaxsched.cosine_decay(0.1, 800), warmup_steps=200)
jaxsched.advance(schedule, steps=-100)""",
    "history": """jaxsched.history(
    [jaxsched.cosine_decay(0.1, 1000), jaxsched.cosine_decay(0.125, 1000)],
    boundaries=[400],
)""",
}

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
OUTPUT = ROOT / "docs" / "_generated" / "catalogue"
TABLE = re.compile(r"<!-- catalogue:start -->(.*?)<!-- catalogue:end -->", re.S)


def table_names() -> list[str]:
    """The schedules of the README's catalogue table, in its order."""
    table = TABLE.search((ROOT / "README.md").read_text())
    assert table is not None, "README.md has no catalogue:start/end markers"
    return re.findall(r"^\| `(\w+)` \|", table.group(1), flags=re.M)


def figures() -> list[tuple[str, str]]:
    """(name, code) of every figure: the README table's order, then the rest."""
    order = table_names()
    return [(n, GALLERY[n]) for n in order if n in GALLERY] + [
        (n, code) for n, code in GALLERY.items() if n not in order
    ]


def _split(code: str) -> tuple[ast.Module, ast.Expr]:
    tree = ast.parse(code)
    last = tree.body.pop()
    assert isinstance(last, ast.Expr), f"the code must end with the schedule: {code}"
    return tree, last


def call(code: str) -> str:
    """The source of the code's last statement: the call that makes the schedule."""
    return ast.get_source_segment(code, _split(code)[1]) or ""


def build(code: str) -> jaxsched.Schedule:
    """The schedule the code makes (its last statement)."""
    import jax.numpy as jnp

    namespace: dict[str, Any] = {"jaxsched": jaxsched, "jnp": jnp, "__name__": "catalogue"}
    body, last = _split(code)
    exec(compile(body, "<catalogue>", "exec"), namespace)
    return eval(compile(ast.Expression(last.value), "<catalogue>", "eval"), namespace)


def missing() -> list[str]:
    """Public schedules no figure draws, and README table rows without a figure."""
    public = {
        obj
        for obj in vars(jaxsched).values()
        if isinstance(obj, type)
        and issubclass(obj, jaxsched.Schedule)
        and obj is not jaxsched.Schedule
    }
    drawn = {type(build(code)) for code in GALLERY.values()}
    undrawn = sorted(cls.__name__ for cls in public - drawn)
    return undrawn + sorted(set(table_names()) - set(GALLERY))


def draw(schedule: jaxsched.Schedule, steps: int, label: str) -> pathlib.Path:
    """Writes the figure (once per distinct curve) and returns its path."""
    import numpy as np

    values = np.asarray(schedule(np.arange(steps)))
    # The same curve drawn by the same code is the same file: a rebuild reuses it.
    drawing = values.tobytes() + inspect.getsource(draw).encode()
    key = hashlib.sha256(drawing).hexdigest()[:12]
    path = OUTPUT / f"{label}-{key}.png"
    if path.exists():
        return path
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8.0, 2.5), dpi=90)
    axes.plot(np.arange(steps), values, color="#1f5fa8")
    axes.set(xlabel="step", ylabel="value", xlim=(0, steps))
    if np.ptp(values) == 0:  # a flat line: show it against zero, not against its own 1e-3
        axes.set_ylim(min(0.0, 2 * values.min()), max(0.0, 2 * values.max()))
    axes.grid(alpha=0.3)
    figure.tight_layout()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for stale in OUTPUT.glob(f"{label}-*.png"):
        stale.unlink()
    figure.savefig(path)
    plt.close(figure)
    return path


def api_link(name: str, docname: str) -> addnodes.pending_xref:
    """A link to the API entry of `jaxsched.name`, shown as the name."""
    ref = addnodes.pending_xref(
        "", refdomain="py", reftype="obj", reftarget=f"jaxsched.{name}", refdoc=docname
    )
    ref["py:module"] = None
    ref += nodes.literal(text=f"jaxsched.{name}")
    return ref


def _image(path: pathlib.Path, srcdir: pathlib.Path, alt: str) -> nodes.image:
    return nodes.image(uri="/" + path.relative_to(srcdir).as_posix(), alt=alt)


class ScheduleCatalogue(Directive):
    """`.. schedule-catalogue::`: a section per schedule, with its code and figure."""

    def run(self) -> list[nodes.Node]:
        if missing():
            raise self.error(f"the catalogue gallery draws no figure for {missing()}")
        env = self.state.document.settings.env
        sections = []
        for name, code in figures():
            schedule = build(code)
            section = nodes.section(ids=[f"catalogue-{name}"])
            section += nodes.title(text=name)
            summary = (type(schedule).__doc__ or "").strip().splitlines()[0]
            text, messages = self.state.inline_text(summary, self.lineno)
            section += nodes.paragraph("", "", api_link(name, env.docname), nodes.Text(": "), *text)
            section += messages
            section += nodes.literal_block(text=code, language="python")
            path = draw(schedule, STEPS, name)
            section += _image(path, pathlib.Path(env.srcdir), f"{name} over {STEPS} steps")
            sections.append(section)
        return sections


class ScheduleFigure(Directive):
    """`.. schedule-figure:: <code making a schedule>` with `:steps:`: one figure."""

    has_content = True
    option_spec: ClassVar = {"steps": directives.positive_int, "alt": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        steps = self.options.get("steps", STEPS)
        label = "figure-" + env.docname.replace("/", "-")
        path = draw(build("\n".join(self.content)), steps, label)
        return [_image(path, pathlib.Path(env.srcdir), self.options.get("alt", ""))]


def _always_reread(app: Sphinx, env: Any, added: Any, changed: Any, removed: Any) -> list[str]:
    """The pages generated from the code are read again on every build, changed or not."""
    return ["catalogue", "api", "index"]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("schedule-catalogue", ScheduleCatalogue)
    app.add_directive("schedule-figure", ScheduleFigure)
    app.connect("env-get-outdated", _always_reread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
