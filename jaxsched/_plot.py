"""Drawing schedules to a PNG with matplotlib (the `plot` extra)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from jaxsched._schedule import Schedule


def plot(
    schedules: Schedule | Sequence[Schedule] | Mapping[str, Schedule],
    steps: int | Sequence[int] | np.ndarray,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    log_scale: bool = False,
) -> str:
    """Draws schedules as labelled curves and saves them as a PNG.

    Args:
      schedules: one schedule, a sequence (labelled by name) or a mapping label -> schedule.
      steps: a number of steps (draws steps 0..steps-1) or the steps themselves.
      path: where to write the PNG; missing parent folders are created.
      title: an optional title.
      log_scale: use a logarithmic value axis.

    Returns:
      The path written, as a string.

    Raises:
      ImportError: if matplotlib is missing (install the `plot` extra).
      ValueError: if there is nothing to draw.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("jaxsched.plot needs matplotlib: pip install 'jaxsched[plot]'") from e

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
    xs = np.arange(int(steps)) if isinstance(steps, int) else np.asarray(steps)
    if xs.size == 0:
        raise ValueError(f"steps must hold at least one step, got steps={steps!r}")

    figure, axes = plt.subplots(figsize=(10, 4.5), dpi=100)
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
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return str(path)
