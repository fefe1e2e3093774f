"""Drawing schedules with matplotlib (the `plot` extra): a Figure back, a file only on request."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jaxsched._schedule import Schedule

# `plot(schedule, steps)` draws every step up to `steps`: past a million points a figure a
# thousand pixels wide shows nothing more, and the array would grow without bound.
MAX_PLOT_STEPS = 10**6


def new_figure(who: str, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """A new figure and its axes, already closed in pyplot.

    pyplot keeps every figure it opens until it is closed: a function that returns figures
    would leak them, and a notebook would show each twice (once open, once as the value).
    Without matplotlib, an ImportError names the `plot` extra.
    """
    try:
        # Imported here: matplotlib is an optional dependency (the `plot` extra).
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{who} needs matplotlib: pip install 'jaxsched[plot]'") from e
    figure, axes = plt.subplots(figsize=figsize, dpi=100)
    plt.close(figure)
    return figure, axes


def save_figure(figure: Any, path: str | os.PathLike[str] | None) -> None:
    """Writes `figure` to `path` (its format from the extension), creating missing folders."""
    if path is None:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path)


def plot(
    schedules: Schedule | Sequence[Schedule] | Mapping[str, Schedule],
    steps: int | Sequence[int] | np.ndarray,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    log_scale: bool = False,
) -> Any:
    """Draws schedules as labelled curves; returns the matplotlib Figure.

    The figure is not left open in pyplot: in a notebook it shows once, as the cell's value;
    in a script, save it with `path` (or `figure.savefig`). Nothing is written without a path.

    Args:
      schedules: one schedule, a sequence (labelled by name) or a mapping label -> schedule.
      steps: a number of steps (draws steps 0..steps-1, at most 10**6) or the steps
        themselves (for a long run, `np.linspace(0, total, 2000)`).
      path: if given, where to write the figure (PNG, SVG, PDF, ... by its extension);
        missing parent folders are created.
      title: an optional title.
      log_scale: use a logarithmic value axis.

    Returns:
      The `matplotlib.figure.Figure`.

    Raises:
      ImportError: if matplotlib is missing (install the `plot` extra).
      ValueError: if there is nothing to draw, or `steps` counts more than 10**6 steps.

    Examples:
      >>> import jaxsched
      >>> figure = jaxsched.plot({"cosine": jaxsched.cosine_decay(1.0, 100)}, 100)
      >>> axes = figure.axes[0]
      >>> [line.get_label() for line in axes.get_lines()], axes.get_xlabel()
      (['cosine'], 'step')
    """
    labelled = _labelled(schedules)
    xs = np.asarray(steps)
    if xs.ndim == 0:  # a number of steps; 1000.0 would otherwise draw the one step 1000
        count = xs.item()
        whole = isinstance(count, (int, float)) and not isinstance(count, bool)
        if not (whole and 0 < count <= MAX_PLOT_STEPS and count == int(count)):
            raise ValueError(
                f"steps must be a number of steps in [1, 10**6] or the steps to draw (for a "
                f"long run, np.linspace(0, total, 2000)), got steps={steps!r}"
            )
        xs = np.arange(int(count))
    if xs.size == 0:
        raise ValueError(f"steps must hold at least one step, got steps={steps!r}")
    figure, axes = new_figure("jaxsched.plot", (10, 4.5))
    for label, schedule in labelled.items():
        axes.plot(xs, np.asarray(schedule(xs)), label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("value")
    if log_scale:
        axes.set_yscale("log")
    if title:
        axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    save_figure(figure, path)
    return figure


def _labelled(schedules: Any) -> dict[str, Schedule]:
    """label -> schedule; a sequence is labelled by name, repeated names numbered."""
    if isinstance(schedules, Schedule):
        labelled = {schedules.name: schedules}
    elif isinstance(schedules, Mapping):
        labelled = dict(schedules)
    else:
        labelled = {}
        for schedule in schedules:
            label, n = schedule.name, 2
            while label in labelled:
                label, n = f"{schedule.name} ({n})", n + 1
            labelled[label] = schedule
    if not labelled:
        raise ValueError("schedules must hold at least one schedule")
    return labelled
