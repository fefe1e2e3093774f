"""Benchmark: population-based training against the same members trained without exploitation.

Run: python -m benchmarks.pbt_overhead --data-dir /usr/share/datasets/fashion-mnist

Both sides are `examples.compare.pbt.train_population` on the same K sampled schedules, seed
and data: the same updates and the same validation evaluations every --ready updates; PBT
adds an exploit-and-explore step (a jitted gather and perturbation over the stacked states)
after each evaluation but the last. One untimed call of each compiles; then the whole call is
timed on both sides in turns. Reports medians, their ratio and the load.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
import sys

import jax

from benchmarks import cli, timing
from examples import experiment
from examples.compare import group, pbt


@dataclasses.dataclass(frozen=True)
class PBTOverheadConfig:
    """What the benchmark runs; each field is a command-line flag.

    Attributes:
      data_dir: a folder of Fashion-MNIST's four IDX files.
      population: K, the members.
      epochs: the budget of every member, in epochs of 5,000 training images.
      ready: updates between two evaluations (and, for PBT, exploit-and-explore steps).
      repeats: timings of both sides, in turns (their median is reported).
    """

    data_dir: str | None = None
    population: int = 8
    epochs: int = 2
    ready: int = 10
    repeats: int = 5


def main(argv: list[str] | None = None) -> int:
    config, _ = cli.parse(PBTOverheadConfig, argv, "benchmarks.pbt_overhead", __doc__)
    setup = pbt.PBTConfig(
        data=dataclasses.replace(pbt.PBTConfig().data, data_dir=config.data_dir),
        group=group.GroupConfig(model="mlp"),
        epochs=config.epochs, population=config.population, ready=config.ready,
    )  # fmt: skip
    data = setup.data.put()
    total, space = pbt.budget(setup, data)
    schedules = space.sample(jax.random.key(0), setup.population)
    sides = {name: timing.loop(functools.partial(pbt.train_population, setup, data, schedules,
                                                 0, exploit=exploit))
             for name, exploit in (("pbt", True), ("random", False))}  # fmt: skip
    load_before = timing.load()
    times = timing.in_turns(sides, 1, config.repeats, warmup_steps=1)
    medians = timing.medians(times)
    exploit_steps = len(range(0, total, setup.ready)) - 1
    given = sys.argv[1:] if argv is None else argv
    print(f"command: python -m benchmarks.pbt_overhead {' '.join(given)}")
    print(f"machine: {experiment.machine()}; jax {jax.__version__}")
    print(
        f"MLP, SGD, K={setup.population}, {total} updates per member, evaluation every "
        f"{setup.ready} (PBT: {exploit_steps} exploit steps); medians of {config.repeats}"
    )
    for name, values in times.items():
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(f"{name:7s}: {medians[name]:.3f} s (range {spread}, stdev "
              f"{statistics.pstdev(values):.3f})")  # fmt: skip
    print(f"ratio PBT / random search: {medians['pbt'] / medians['random']:.3f}")
    print(f"load: {load_before:.2f} before, {timing.load():.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
