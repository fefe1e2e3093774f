"""The catalogue page: one figure per registered schedule, drawn from the code at build time.

The `schedule-catalogue` directive renders, for every name in jaxsched's registry, a section
with the constructor's one-line summary, the call that made the figure, and the figure
itself, written to `docs/_generated/` (never committed). A schedule without an entry in
`GALLERY` fails the build, and `tests/test_docs.py` says which.
"""

from __future__ import annotations

import pathlib
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

import jaxsched
from jaxsched._config import REGISTRY

C = jaxsched.constant


def _halve_every(step: Any, period: Any) -> Any:
    return 0.5 ** (step // period)


def _decay_odd_steps(step: Any, rate: Any) -> Any:
    import jax.numpy as jnp

    return jnp.where(step % 2 == 1, rate, 1.0)


_STABLE = jaxsched.warmup(C(0.1), warmup_steps=50)
# name -> (the schedule drawn, the number of steps drawn)
GALLERY: dict[str, tuple[jaxsched.Schedule, int]] = {
    "constant": (C(0.1), 1000),
    "linear": (jaxsched.linear(0.1, 0.01, transition_steps=600, transition_begin=200), 1000),
    "polynomial_decay": (jaxsched.polynomial_decay(0.1, 0.001, 800, power=2.0), 1000),
    "step_decay": (jaxsched.step_decay(0.1, step_size=250, decay_rate=0.5), 1000),
    "multistep_decay": (jaxsched.multistep_decay(0.1, milestones=(500, 750)), 1000),
    "piecewise_constant": (
        jaxsched.piecewise_constant(boundaries=(300, 700), values=(0.1, 0.05, 0.01)),
        1000,
    ),
    "exponential_decay": (jaxsched.exponential_decay(0.1, 0.5, transition_steps=200), 1000),
    "inverse_time_decay": (jaxsched.inverse_time_decay(0.1, 1.0, decay_steps=100), 1000),
    "inverse_sqrt": (jaxsched.inverse_sqrt(0.1, warmup_steps=100), 1000),
    "cosine_decay": (jaxsched.cosine_decay(0.1, 800, end_value=0.01), 1000),
    "warmup_cosine_decay": (jaxsched.warmup_cosine_decay(0.0, 0.1, 100, 900), 1000),
    "warmup_stable_decay": (
        jaxsched.warmup_stable_decay(
            0.1, 900, warmup_steps=50, decay_steps=200, decay_shape="1-sqrt"
        ),
        1000,
    ),
    "cosine_restarts": (jaxsched.cosine_restarts(0.1, 100, t_mul=2.0, m_mul=0.8), 1000),
    "cyclic": (jaxsched.cyclic(0.01, 0.1, step_size_up=100, mode="triangular2"), 1000),
    "one_cycle": (jaxsched.one_cycle(0.1, 1000), 1000),
    "one_cycle_momentum": (jaxsched.one_cycle_momentum(1000), 1000),
    "tanh_decay": (jaxsched.tanh_decay(0.1, 0.001, 900), 1000),
    "join": (
        jaxsched.join((jaxsched.linear(0.0, 0.1, 100), jaxsched.cosine_decay(0.1, 900)), (100,)),
        1000,
    ),
    "by_fraction": (
        jaxsched.by_fraction(
            1000,
            fractions=(0.1, 0.7, 0.2),
            schedules=(jaxsched.linear(0.0, 0.1, 100), C(0.1), jaxsched.linear(0.1, 0.0, 200)),
        ),
        1000,
    ),
    "warmup": (jaxsched.warmup(jaxsched.exponential_decay(0.1, 0.5, 200), 100), 1000),
    "product": (
        jaxsched.product(
            jaxsched.cosine_decay(0.1, 1000), jaxsched.cyclic(0.5, 1.0, step_size_up=100)
        ),
        1000,
    ),
    "scale": (jaxsched.scale(jaxsched.cosine_decay(1.0, 1000), 0.1), 1000),
    "clip": (jaxsched.clip(jaxsched.exponential_decay(0.1, 0.5, 100), min_value=0.01), 1000),
    "constant_factor": (jaxsched.constant_factor(0.1, factor=1 / 3, transition_steps=300), 1000),
    "cooldown": (jaxsched.cooldown(_STABLE, start_step=700, decay_steps=200), 1000),
    "cosine_onecycle": (jaxsched.cosine_onecycle(1000, 0.1), 1000),
    "linear_onecycle": (jaxsched.linear_onecycle(1000, 0.1), 1000),
    "lambda_schedule": (
        jaxsched.lambda_schedule(_halve_every, 0.1, params={"period": 250.0}),
        1000,
    ),
    "multiplicative": (
        jaxsched.multiplicative(_decay_odd_steps, 1000, 0.1, params={"rate": 0.995}),
        1000,
    ),
    "noise": (
        jaxsched.noise(jaxsched.cosine_decay(0.1, 1000), noise_start=200, noise_pct=0.2),
        1000,
    ),
    "piecewise_constant_scales": (
        jaxsched.piecewise_constant_scales(0.1, {300: 0.5, 600: 0.2}),
        1000,
    ),
    "piecewise_interpolate": (
        jaxsched.piecewise_interpolate(0.1, {200: 0.5, 600: 0.1, 900: 0.5}),
        1000,
    ),
    "swa": (jaxsched.swa(0.1, swa_value=0.02, anneal_steps=300), 1000),
    "warmup_constant": (jaxsched.warmup_constant(0.0, 0.1, warmup_steps=200), 1000),
    "warmup_exponential_decay": (
        jaxsched.warmup_exponential_decay(0.0, 0.1, 100, 200, decay_rate=0.5),
        1000,
    ),
    "warmup_stable_decay_cycles": (
        jaxsched.warmup_stable_decay_cycles(
            0.1, cycle_ends=(400, 1000), warmup_steps=50, decay_steps=100, rewarmup_steps=50
        ),
        1000,
    ),
}

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "_generated" / "catalogue"


def missing() -> list[str]:
    """Registered schedules the gallery does not draw."""
    return sorted(set(REGISTRY) - set(GALLERY))


def draw(name: str) -> pathlib.Path:
    """Writes the figure of `name` and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    schedule, steps = GALLERY[name]
    xs = np.arange(steps)
    figure, axes = plt.subplots(figsize=(6.4, 2.2), dpi=90)
    axes.plot(xs, np.asarray(schedule(xs)), color="#1f5fa8")
    axes.set(xlabel="step", ylabel="value")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    figure.savefig(path)
    plt.close(figure)
    return path


class ScheduleCatalogue(Directive):
    """`.. schedule-catalogue::`: a section per registered schedule, with its figure."""

    def run(self) -> list[nodes.Node]:
        if missing():
            raise self.error(f"the catalogue gallery has no entry for {missing()}")
        env = self.state.document.settings.env
        sections = []
        for name in sorted(REGISTRY):
            schedule, _ = GALLERY[name]
            section = nodes.section(ids=[f"catalogue-{name}"])
            section += nodes.title(text=name)
            summary = (type(schedule).__doc__ or "").strip().splitlines()[0]
            text, messages = self.state.inline_text(summary, self.lineno)
            section += nodes.paragraph("", "", *text)
            section += messages
            section += nodes.literal_block(text=f"jaxsched.{schedule!r}", language="python")
            path = draw(name)
            uri = pathlib.Path("/") / path.relative_to(pathlib.Path(env.srcdir))
            section += nodes.image(uri=str(uri), alt=f"{name} over its steps")
            sections.append(section)
        return sections


def _always_reread(app: Sphinx, env: Any, added: Any, changed: Any, removed: Any) -> list[str]:
    """The pages generated from the code are read again on every build, changed or not."""
    return ["catalogue", "api"]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("schedule-catalogue", ScheduleCatalogue)
    app.connect("env-get-outdated", _always_reread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
