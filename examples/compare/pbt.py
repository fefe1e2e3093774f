"""Population-based training of learning-rate schedules, the whole population in one program.

    python -m examples.compare.pbt --data-dir /usr/share/datasets/fashion-mnist

PBT (Jaderberg et al. 2017, https://arxiv.org/abs/1711.09846) on the core of
`examples.compare.group`: K members of a family's `jaxsched.search_space` train as one
`RunGroup` part; every `--ready` updates, scored on the validation split, the bottom
`--truncation` share takes the state and schedule of a random top member (a gather) and
perturbs it (`jaxsched.Perturbation`), in one jitted function traced once. Random search over
the same members, the fixed `--baseline` and the winner's replayed history train beside it;
examples/compare/README.md says what table.md, results.json, population.png and winner.json
hold.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import operator
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

import jaxsched
from examples import experiment, flags
from examples.compare import group
from examples.mnist import core

PROG = "python -m examples.compare.pbt"
# Traces of `exploit_and_explore` and XLA's compilations (later generations compile nothing).
TRACES: list[int] = []
COMPILES: list[float] = []


def _count_compiles(event: str, duration_secs: float, **_: str | int) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        COMPILES.append(duration_secs)


jax.monitoring.register_event_duration_secs_listener(_count_compiles)


@dataclasses.dataclass(frozen=True)
class PBTConfig:
    """Everything a PBT comparison depends on; each field is a flag.

    Attributes:
      out: where table.md, results.json, population.png and winner.json go.
      epochs: the budget of every procedure, in epochs of the training split.
      seeds: independent repetitions of every procedure (seeds 0 .. seeds-1).
      optimizer: "sgd" (with --momentum) or "adam".
      momentum: SGD's momentum.
      population: K, the members of the population (and of the random search).
      ready: updates between two exploit-and-explore steps.
      truncation: the share of the population replaced at each step (at least one member).
      family: the schedule family (a registered jaxsched name).
      search: the searched fields and their bounds, `field=low:high` each.
      fixed: the family's other arguments, `field=value` each; `total_steps` is the budget.
      resample: the chance that an explored field is drawn afresh within its bounds.
      baseline: the fixed schedule's searched fields, `field=value` each.
      shard: shard the population over all devices (K a multiple of them); always so with
        --distributed.
    """

    data: experiment.DataConfig = dataclasses.field(
        default_factory=lambda: experiment.DataConfig(
            train_examples=5000, validation_examples=2000, test_examples=5000
        )
    )
    group: group.GroupConfig = dataclasses.field(
        default_factory=lambda: group.GroupConfig(model="mlp")
    )
    out: str = "results/pbt"
    epochs: int = flags.option(5, at_least=1)
    seeds: int = flags.option(1, at_least=1)
    optimizer: str = flags.option("sgd", choices=("sgd", "adam"))
    momentum: float = 0.9
    population: int = flags.option(8, at_least=2)
    ready: int = flags.option(40, at_least=1)
    truncation: float = 0.25
    family: str = "one_cycle"
    search: tuple[str, ...] = ("peak_value=0.01:1.0",)
    fixed: tuple[str, ...] = ()
    resample: float = 0.0
    baseline: tuple[str, ...] = ("peak_value=0.3",)
    shard: bool = False

    def __post_init__(self) -> None:
        flags.check(self)
        if not 0.0 < self.truncation <= 0.5:
            raise ValueError(f"--truncation must be in (0, 0.5], got {self.truncation}")
        family = getattr(jaxsched, self.family, None)
        if not (isinstance(family, type) and issubclass(family, jaxsched.Schedule)):
            raise ValueError(f"--family must be a jaxsched schedule name, got {self.family!r}")


PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "smoke": (
        "an MLP on a few hundred images, 4 members, 1 epoch: a check that everything runs",
        dict(train_examples=512, validation_examples=256, test_examples=500, batch_size=32,
             epochs=1, population=4, ready=4),
    ),
}  # fmt: skip


def _pairs(items: Sequence[str], name: str) -> dict[str, str]:
    try:
        return dict(item.split("=", 1) for item in items)  # type: ignore[misc]
    except ValueError:
        raise ValueError(f"--{name} takes field=value items, got {list(items)}") from None


def search_space(config: PBTConfig, total_steps: int) -> jaxsched.SearchSpace:
    bounds = {
        name: tuple(float(v) for v in text.split(":"))
        for name, text in _pairs(config.search, "search").items()
    }
    fixed = {name: float(v) for name, v in _pairs(config.fixed, "fixed").items()}
    return jaxsched.search_space(config.family, bounds, total_steps=total_steps, **fixed)  # type: ignore[arg-type]


def budget(config: PBTConfig, data: core.DeviceData) -> tuple[int, jaxsched.SearchSpace]:
    """Each member's updates over the run, and the search space of schedules that long."""
    total = config.epochs * (data.train_images.shape[0] // config.group.batch_size)
    return total, search_space(config, total)


@functools.partial(jax.jit, static_argnames=("explore", "truncation", "layout"), donate_argnums=0)
def exploit_and_explore(
    state: Any,
    hyperparams: dict[str, Any],
    scores: jax.Array,
    key: jax.Array,
    *,
    explore: jaxsched.Perturbation,
    truncation: float,
    layout: jax.sharding.Sharding | None = None,
) -> tuple[Any, dict[str, Any], jax.Array]:
    """Truncation selection, then exploration, over a stacked population: the bottom
    `truncation` share of `scores` takes the state and hyperparameters of random members of
    the top share (a gather: bit-identical copies), their schedules perturbed by `explore`.
    The results keep `layout` (XLA would otherwise gather them onto every device). Returns
    the new states and hyperparameters and each member's parent (itself if kept)."""
    TRACES.append(1)
    size = scores.shape[0]
    cut = max(1, int(size * truncation))
    ranked = jnp.argsort(-scores)  # best first; argsort is stable, so ties keep their order
    pick, perturb = jax.random.split(key)
    donors = ranked[:cut][jax.random.randint(pick, (cut,), 0, cut)]
    parents = jnp.arange(size).at[ranked[size - cut :]].set(donors)
    state, hyperparams = jax.tree.map(lambda leaf: leaf[parents], (state, hyperparams))
    copied = parents != jnp.arange(size)
    explored = explore(hyperparams["learning_rate"], perturb)
    schedule = jax.tree.map(
        lambda new, old: jnp.where(copied, new, old), explored, hyperparams["learning_rate"]
    )
    hyperparams = {**hyperparams, "learning_rate": schedule}
    if layout is not None:
        state, hyperparams = jax.lax.with_sharding_constraint((state, hyperparams), layout)
    return state, hyperparams, parents


def population_layout(
    data: core.DeviceData,
) -> tuple[core.DeviceData, jax.sharding.NamedSharding]:
    """`data` whole on every device of every process (arrays already so are kept), and the
    population axis laid over those devices."""
    mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("population",))
    whole = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    placed: dict[str, Any] = {
        k: core.put_replicated(np.asarray(v), whole)
        for k, v in data._asdict().items()
        if isinstance(v, jax.Array) and v.sharding != whole
    }
    split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("population"))
    return data._replace(**placed), split


def _sharded(config: PBTConfig) -> bool:
    """--shard, or a multi-process run (whose processes would otherwise train copies)."""
    return config.shard or jax.process_count() > 1


def _fetch(tree: Any) -> Any:
    """`tree` on the host, whole (gathered from every process where it is split over them)."""

    def fetch(leaf: Any) -> np.ndarray:
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return multihost_utils.process_allgather(leaf, tiled=True)
        return np.asarray(leaf)

    return jax.tree.map(fetch, tree)


def members(batch: Any, size: int) -> list[Any]:
    """The `size` schedules of a stacked batch, each with plain float leaves."""
    host = jax.tree.map(np.asarray, batch)
    return [jax.tree.map(float, jax.tree.map(operator.itemgetter(k), host)) for k in range(size)]


@dataclasses.dataclass
class Population:
    """One population's training, per member (lineage followed): its schedule histories,
    parents and validation accuracy per generation, the learning rates it trained with
    (members, updates), final test accuracy; seconds per stretch of `ready` updates and per
    exploit call (the first compiles), live arrays and XLA compilations per generation."""

    histories: list[list[Any]]
    parents: list[list[int]] = dataclasses.field(default_factory=list)
    val_accuracy: list[list[float]] = dataclasses.field(default_factory=list)
    lrs: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    test_accuracy: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    exploit_calls: list[float] = dataclasses.field(default_factory=list)
    stretches: list[float] = dataclasses.field(default_factory=list)
    live_arrays: list[int] = dataclasses.field(default_factory=list)
    compiles: list[int] = dataclasses.field(default_factory=list)
    state: Any = None


def train_population(
    config: PBTConfig, data: core.DeviceData, schedules: Any, seed: int, exploit: bool
) -> Population:
    """Trains the stacked `schedules` as one population; PBT when `exploit`, otherwise
    random search (the same members, never copied)."""
    size = config.population
    runs = [_run(config, s, seed * 1000 + k) for k, s in enumerate(members(schedules, size))]
    setup = dataclasses.replace(config.group, vmap_size=size, max_group_size=0)
    layout = None
    if _sharded(config):
        data, layout = population_layout(data)
    population = group.RunGroup(runs, data, setup, layout)
    part, total = population.parts[0], config.epochs * population.steps_per_epoch
    if layout is None:  # committed, as exploit_and_explore's results will be: one program
        part.hyperparams = jax.device_put(part.hyperparams, jax.local_devices()[0])
    explore = jaxsched.Perturbation(config.family, tuple(_pairs(config.search, "search")),
                                    bounds=search_space(config, total).bounds,
                                    resample_probability=config.resample)  # fmt: skip
    result = Population(histories=[[run.schedule] for run in runs])
    lineage_lrs: list[list[np.ndarray]] = [[] for _ in range(size)]
    key = jax.random.key(seed)
    jax.block_until_ready(population.orders(0))  # compiles the data order outside the timing
    for step in range(0, total, config.ready):
        compiled = len(COMPILES)
        start = time.perf_counter()
        metrics = _fetch(population.advance(step, min(config.ready, total - step)))
        result.stretches.append(time.perf_counter() - start)
        lrs = np.asarray([np.concatenate([m["lr"] for m in update]) for update in metrics]).T
        lineage_lrs = [lineage_lrs[k] + [lrs[k]] for k in range(size)]
        _, accuracy = population.evaluate(data.val_images, data.val_labels, data.num_val)
        result.val_accuracy.append(accuracy.tolist())
        result.live_arrays.append(len(jax.live_arrays()))
        if not exploit or step + config.ready >= total:
            continue
        start = time.perf_counter()
        scores = jnp.asarray(np.nan_to_num(accuracy, nan=-1.0), jnp.float32)
        part.state, part.hyperparams, parents = exploit_and_explore(
            part.state, part.hyperparams, scores, jax.random.fold_in(key, step),
            explore=explore, truncation=config.truncation, layout=layout,
        )  # fmt: skip
        parents = _fetch(jax.block_until_ready(parents))
        result.exploit_calls.append(time.perf_counter() - start)
        result.compiles.append(len(COMPILES) - compiled)
        new = members(_fetch(part.hyperparams["learning_rate"]), size)
        result.histories = [result.histories[p] + [new[k]] for k, p in enumerate(parents)]
        lineage_lrs = [list(lineage_lrs[p]) for p in parents]
        result.parents.append(parents.tolist())
    result.lrs = np.asarray([np.concatenate(lrs) for lrs in lineage_lrs])
    _, result.test_accuracy = population.evaluate(data.test_images, data.test_labels, data.num_test)
    result.state = part.state
    return result


def _run(config: PBTConfig, schedule: Any, seed: int) -> group.Run:
    momentum = config.momentum if config.optimizer == "sgd" else None
    return group.Run(config.optimizer, schedule, seed, learning_rate=0.0, momentum=momentum)


def replay(histories: list[Any], ready: int) -> jaxsched.History:
    """A member's schedules as one schedule: each takes over `ready` updates after the last."""
    return jaxsched.history(histories, [ready * (i + 1) for i in range(len(histories) - 1)])


def train_alone(config: PBTConfig, data: core.DeviceData, schedule: Any, seed: int) -> float:
    """The test accuracy of `schedule` trained alone from scratch for the whole budget."""
    alone = group.RunGroup([_run(config, schedule, seed)], data, config.group)
    return float(alone.train(config.epochs)[0].final["test_accuracy"])


def _summary(population: Population, winner: int) -> dict[str, Any]:
    names = ("val_accuracy", "parents", "exploit_calls", "stretches", "live_arrays", "compiles")
    return {"winner": winner, "test_accuracy": population.test_accuracy.tolist(),
            "winner_test_accuracy": float(population.test_accuracy[winner]),
            "train_seconds": sum(population.stretches),
            "exploit_seconds": sum(population.exploit_calls),
            **{name: getattr(population, name) for name in names}}  # fmt: skip


def one_seed(
    config: PBTConfig, data: core.DeviceData, seed: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """PBT, random search over the same members, the fixed baseline and the PBT winner's
    replay, all from one seed; what results.json holds for it."""
    total, space = budget(config, data)
    schedules = space.sample(jax.random.key(seed), config.population)
    placed = population_layout(data)[0] if _sharded(config) else data  # once for both
    pbt = train_population(config, placed, schedules, seed, exploit=True)
    random = train_population(config, placed, schedules, seed, exploit=False)
    # Winners are chosen on the validation split: the test set never decides anything.
    pbt_winner = int(np.nanargmax(pbt.val_accuracy[-1]))
    random_winner = int(np.nanargmax(random.val_accuracy[-1]))
    history = replay(pbt.histories[pbt_winner], config.ready)
    baseline = {name: float(v) for name, v in _pairs(config.baseline, "baseline").items()}
    fixed = dataclasses.replace(space.template, **baseline)  # type: ignore[type-var]
    record: dict[str, Any] = {
        "seed": seed,
        "total_updates": total,
        "pbt": _summary(pbt, pbt_winner),
        "random": _summary(random, random_winner),
        "fixed": {"schedule": fixed.to_config(),
                  "test_accuracy": train_alone(config, data, fixed, seed)},
        "replay": {"schedule": history.to_config(),
                   "test_accuracy": train_alone(config, data, history, seed + 10_000)},
        "members": [[s.to_config() for s in h] for h in pbt.histories],
        "lr_steps": list(range(0, total, max(1, total // 200))),
    }  # fmt: skip
    record["lrs"] = pbt.lrs[:, record["lr_steps"]].tolist()
    pbt_acc, random_acc = (record[n]["winner_test_accuracy"] for n in ("pbt", "random"))
    fixed_acc, replay_acc = (record[n]["test_accuracy"] for n in ("fixed", "replay"))
    log(f"seed {seed}: PBT {pbt_acc:.4f}, random {random_acc:.4f}, fixed {fixed_acc:.4f}, "
        f"replay {replay_acc:.4f}")  # fmt: skip
    return record


def run(
    config: PBTConfig, log: Callable[[str], None], save: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Every seed's procedures; results.json's contents (saved after each seed)."""
    if _sharded(config) and config.population % jax.device_count():
        raise ValueError(f"--shard needs --population a multiple of {jax.device_count()} devices")
    data = config.data.put()
    results = experiment.header(config, PROG, data)
    log(f"{config.group.model}, {config.optimizer}, K={config.population}, {results['machine']}")
    results["seeds"] = []
    for seed in range(config.seeds):
        results["seeds"].append(one_seed(config, data, seed, log))
        save(results)
    results["exploit_traces"] = len(TRACES)
    return results


def _mean_std(accuracies: Sequence[float]) -> str:
    values = np.asarray(accuracies, np.float64)
    return f"{values.mean():.4f}" + (f" +- {values.std(ddof=1):.4f}" if values.size > 1 else "")


def table(results: dict[str, Any]) -> str:
    """Mean +- std over seeds of each procedure's test accuracy, with its cost."""
    seeds, config = results["seeds"], results["config"]
    k, updates = config["population"], seeds[0]["total_updates"]
    rows = [
        ("PBT (winner by validation)", [s["pbt"]["winner_test_accuracy"] for s in seeds], k,
         sum(s["pbt"]["train_seconds"] + s["pbt"]["exploit_seconds"] for s in seeds)),
        ("random search (winner by validation)",
         [s["random"]["winner_test_accuracy"] for s in seeds], k,
         sum(s["random"]["train_seconds"] for s in seeds)),
        ("fixed baseline", [s["fixed"]["test_accuracy"] for s in seeds], 1, math.nan),
        ("PBT winner's schedule replayed alone", [s["replay"]["test_accuracy"] for s in seeds],
         1, math.nan),
    ]  # fmt: skip
    lines = [
        f"{config['model']} / {config['optimizer']} / {config['family']} on {config['dataset']}, "
        f"{results['num_train']} training images, {updates} updates per member, "
        f"{len(seeds)} seed(s); K={k}, ready={config['ready']}, truncation={config['truncation']}",
        "",
        "| procedure | test accuracy | updates | train seconds (all seeds) |",
        "|---|---|---|---|",
    ]
    for name, accuracies, members, seconds in rows:
        shown = "-" if math.isnan(seconds) else f"{seconds:.1f}"
        lines.append(f"| {name} | {_mean_std(accuracies)} | {members * updates} | {shown} |")
    lines.append(f"\nexploit-and-explore traced {results.get('exploit_traces', '?')} time(s)")
    return "\n".join(lines) + "\n"


def figures(results: dict[str, Any], out: str) -> None:
    """winner.json, and population.png: the first seed's learning-rate curves (lineage
    followed) and the validation accuracy of every member at every ready point."""
    winner = results["seeds"][-1]["replay"]["schedule"]
    experiment.write(out, "winner.json", json.dumps(winner, indent=1))
    import matplotlib  # here: importing it costs 1.5 s that --help and the tests skip

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seed = results["seeds"][0]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5), dpi=70)
    for k, lrs in enumerate(seed["lrs"]):
        left.plot(seed["lr_steps"], lrs, lw=2.5 if k == seed["pbt"]["winner"] else 0.8)
    left.set(xlabel="update", ylabel="learning rate", yscale="log", title="PBT members")
    for name in ("pbt", "random"):
        accuracy = np.asarray(seed[name]["val_accuracy"])
        right.plot(accuracy.max(axis=1), label=f"{name}: best member")
        right.plot(np.median(accuracy, axis=1), ls="--", label=f"{name}: median member")
    right.set(xlabel="ready point", ylabel="validation accuracy")
    right.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(os.path.join(out, "population.png"))
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the comparison and writes its outputs; returns the exit status."""
    return experiment.main(PBTConfig, argv, run, table, figures=figures, prog=PROG, doc=__doc__,
                           presets=PRESETS, distributed=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
