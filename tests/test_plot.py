"""jaxsched.plot and LRFindResult.plot return the Figure and write a file only given a path."""

from __future__ import annotations

import jax.numpy as jnp
import matplotlib.pyplot as plt
import optax
import pytest
from matplotlib.figure import Figure

import jaxsched

SCHEDULES = {"cosine": jaxsched.cosine_decay(1.0, 50), "1cycle": jaxsched.one_cycle(1.0, 50)}
PNG = b"\x89PNG\r\n\x1a\n"


def quadratic(params, batch):
    return 50.0 * jnp.sum((params - batch) ** 2)


@pytest.fixture
def lr_find_result() -> jaxsched.LRFindResult:
    return jaxsched.lr_find(quadratic, jnp.ones(2), optax.sgd, [jnp.zeros(2)], num_steps=20)


def test_plot_returns_the_figure_and_writes_nothing_without_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_before = plt.get_fignums()
    for schedules, labels in [
        (SCHEDULES, ["cosine", "1cycle"]),
        (list(SCHEDULES.values()), ["cosine_decay", "one_cycle"]),
        (jaxsched.constant(0.1), ["constant"]),
    ]:
        figure = jaxsched.plot(schedules, 60, title="schedules", log_scale=True)
        assert isinstance(figure, Figure)
        axes = figure.axes[0]
        assert [line.get_label() for line in axes.get_lines()] == labels
        assert (axes.get_title(), axes.get_yscale()) == ("schedules", "log")
        assert len(axes.get_lines()[0].get_xdata()) == 60
    assert list(tmp_path.iterdir()) == []
    assert plt.get_fignums() == open_before  # pyplot keeps none of them open


@pytest.mark.parametrize("name", ["schedules.png", "schedules.svg"])
def test_plot_writes_the_figure_to_a_path_creating_its_folders(tmp_path, name: str) -> None:
    for path in (tmp_path / "sub" / name, str(tmp_path / "str" / name)):
        figure = jaxsched.plot(SCHEDULES, steps=60, path=path)
        assert isinstance(figure, Figure)
        with open(path, "rb") as f:
            head = f.read(200)
        assert head.startswith(PNG) if name.endswith(".png") else b"<svg" in head


@pytest.mark.parametrize("steps", [0, -3, 10**6 + 1, 2**40])
def test_plot_refuses_a_number_of_steps_outside_its_range_naming_it(steps: int) -> None:
    with pytest.raises(ValueError, match=rf"steps must be a number of steps in \[1, 10\*\*6\].*"
                       rf"got steps={steps}$"):  # fmt: skip
        jaxsched.plot(SCHEDULES, steps)


def test_plot_draws_the_steps_it_is_given() -> None:
    figure = jaxsched.plot(SCHEDULES, jnp.linspace(0, 10**8, 50))
    assert len(figure.axes[0].get_lines()[0].get_xdata()) == 50


def test_lr_find_result_plot_returns_the_figure_and_writes_only_given_a_path(
    lr_find_result, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    figure = lr_find_result.plot(title="quadratic")
    assert isinstance(figure, Figure)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    drawn = [f"{name}: {lr:.2e}" for name, lr in lr_find_result.suggestions.items() if lr == lr]
    assert labels == ["smoothed loss", *drawn]  # a NaN suggestion is not drawn
    assert list(tmp_path.iterdir()) == []
    again = lr_find_result.plot(tmp_path / "sub" / "again.png")
    assert isinstance(again, Figure)
    assert (tmp_path / "sub" / "again.png").read_bytes()[:8] == PNG


def test_lr_find_draws_its_curve_to_the_plot_path(tmp_path) -> None:
    path = tmp_path / "sub" / "lr_find.png"
    jaxsched.lr_find(quadratic, jnp.ones(2), optax.sgd, [jnp.zeros(2)], num_steps=20, plot=path)
    assert path.read_bytes()[:8] == PNG
