"""examples/compare: vmapped runs equal separate runs, grouping, compiles, plateau, the study."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxsched
from examples import flags
from examples.compare import group, recipes, study, time_to_accuracy
from examples.mnist import core, data
from tests.mnist_helpers import synthetic_digits, write_idx_folder

MLP = group.GroupConfig(model="mlp", batch_size=32)
EPOCHS = 2


@pytest.fixture(scope="module")
def device_data() -> core.DeviceData:
    train_images, train_labels = synthetic_digits(384, seed=0)
    test_images, test_labels = synthetic_digits(200, seed=1)
    dataset = data.Dataset(
        train_images[..., None], train_labels.astype(np.int32),
        test_images[..., None], test_labels.astype(np.int32),
    )  # fmt: skip
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return core.put_data(dataset, device, validation_examples=128, eval_batch_size=64)


def sgd(schedule: jaxsched.Schedule, seed: int, **kwargs) -> group.Run:
    return group.Run(
        "sgd", schedule, seed, float(schedule(0)), momentum=kwargs.pop("momentum", 0.9), **kwargs
    )


def train_alone(
    run: group.Run, device_data: core.DeviceData, config: group.GroupConfig, epochs: int
):
    """The run as the Flax NNX example writes a training loop: nnx.Optimizer around
    `optax.sgd(schedule)` (no injection, no vmap), updated under nnx.jit."""
    the_core = core.build(config.model, "sgd", run.hyperparams(), batch_size=config.batch_size)
    init_key, data_key = core.seed_keys(run.seed)
    model = nnx.merge(the_core.model_graphdef, _init_model(the_core, init_key))
    optimizer = nnx.Optimizer(model, optax.sgd(run.schedule, momentum=run.momentum), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        grads = nnx.grad(lambda m: core.cross_entropy(m(x), y).mean())(model)
        optimizer.update(model, grads)

    count = device_data.train_images.shape[0]
    for epoch in range(epochs):
        order = jax.random.permutation(jax.random.fold_in(data_key, epoch), count)
        for i in range(count // config.batch_size):
            index = order[i * config.batch_size : (i + 1) * config.batch_size]
            x = device_data.train_images[index].astype(jnp.float32) / 255.0
            step(model, optimizer, x, device_data.train_labels[index])
    return nnx.to_pure_dict(nnx.state(model))


def _init_model(the_core: core.Core, key: jax.Array):
    models = jax.jit(group.init_models, static_argnums=(0, 1))(the_core.model, False, key[None])
    return jax.tree.map(lambda leaf: leaf[0], models)


_RUNS = [sgd(jaxsched.cosine_decay(lr, 16), seed) for lr, seed in ((0.05, 0), (0.2, 0), (0.1, 1))]


@pytest.fixture(scope="module")
def trained_alone(device_data):
    """Each of `_RUNS` trained alone as the Flax NNX example would, once for both vmap sizes."""
    return [train_alone(run, device_data, MLP, EPOCHS) for run in _RUNS]


@pytest.mark.parametrize("vmap_size", [3, 1])
def test_vmapped_runs_equal_the_same_runs_trained_one_by_one(
    device_data, trained_alone, vmap_size
) -> None:
    runs = _RUNS
    config = dataclasses.replace(MLP, vmap_size=vmap_size)
    together = group.RunGroup(runs, device_data, config).train(EPOCHS)
    for vmapped, alone_state in zip(together, trained_alone, strict=True):
        jax.tree.map(
            functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-5),
            vmapped.state["model"],
            alone_state,
        )
    # A group of one gives the same metrics as the same run inside a group of three.
    (alone,) = group.RunGroup([runs[2]], device_data, config).train(EPOCHS)
    assert together[2].group_size == 3 and alone.group_size == 1
    np.testing.assert_allclose(together[2].lrs, alone.lrs, rtol=1e-6)
    for key in ("train_loss", "test_loss", "test_accuracy"):
        np.testing.assert_allclose(
            [e[key] for e in together[2].evals], [e[key] for e in alone.evals], rtol=1e-4
        )
    # Different learning rates from one seed really are different runs.
    assert together[0].evals[-1]["train_loss"] != together[1].evals[-1]["train_loss"]


def test_runs_of_one_seed_share_initialisation_and_data_order(device_data) -> None:
    runs = [sgd(jaxsched.constant(0.0), 3) for _ in range(2)]
    first, second = group.RunGroup(runs, device_data, MLP).train(EPOCHS)
    jax.tree.map(np.testing.assert_array_equal, first.state, second.state)


def test_families_are_grouped_by_structure_and_numbers_never_recompile(
    device_data, monkeypatch
) -> None:
    runs = [
        sgd(jaxsched.constant(0.1), 0),
        sgd(jaxsched.cosine_decay(0.1, 16), 0),
        sgd(jaxsched.constant(0.3), 1),
        sgd(jaxsched.one_cycle(0.1, 16), 0, momentum=jaxsched.one_cycle_momentum(16)),
        sgd(jaxsched.constant(0.01), 0, from_lr_find=True),
        sgd(jaxsched.constant(0.1), 0, plateau=jaxsched.reduce_on_plateau(patience=0)),
        group.Run("adam", jaxsched.constant(1e-3), 0, 1e-3),
        sgd(jaxsched.cosine_decay(0.2, 16), 1),
    ]
    assert group.group_by_structure(runs) == [[0, 2, 4], [1, 7], [3], [5], [6]]
    assert group.group_by_structure(runs, max_size=2) == [[0, 2], [4], [1, 7], [3], [5], [6]]
    assert group.group_by_structure(runs, max_size=1) == [[i] for i in (0, 2, 4, 1, 7, 3, 5, 6)]

    # A structure no other test trains compiles once, for any numbers.
    def linear(lr, steps, seed):
        return sgd(jaxsched.linear(lr, 0.0, steps), seed)

    traces = []  # the core's train step runs in Python once per trace of a group's program
    train_step = core.Core.train_step
    monkeypatch.setattr(
        core.Core, "train_step", lambda *args: traces.append(1) or train_step(*args)
    )
    group.RunGroup([linear(0.1, 16, 0), linear(0.2, 16, 1)], device_data, MLP).train(EPOCHS)
    assert len(traces) == 1
    other_numbers = [linear(0.5, 7, 4), linear(0.01, 100, 5)]
    reused = group.RunGroup(other_numbers, device_data, MLP).train(EPOCHS)
    assert len(traces) == 1
    # The reused program follows the new numbers: they are arguments, not constants.
    for run, result in zip(other_numbers, reused, strict=True):
        steps = np.arange(len(result.lrs))
        np.testing.assert_allclose(result.lrs, run.schedule(steps), rtol=1e-5)
    with pytest.raises(ValueError, match="one structure"):
        group.RunGroup(runs[:2], device_data, MLP)


def test_plateau_inside_a_group_reduces_only_the_run_whose_metric_stalls(device_data) -> None:
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0)
    # A learning rate of 1e-9 cannot move the validation loss by the relative threshold 1e-4,
    # so from the second evaluation on it counts as a stall; 0.05 keeps improving.
    runs = [sgd(jaxsched.constant(lr), 0, plateau=plateau) for lr in (1e-9, 0.05)]
    stalled, learning = group.RunGroup(runs, device_data, MLP).train(3)
    steps_per_epoch = len(stalled.lrs) // 3
    val_losses = [e["val_loss"] for e in learning.evals]
    assert val_losses[0] > val_losses[1] > val_losses[2]
    np.testing.assert_allclose(learning.lrs, 0.05)
    # Evaluation 1 sets the best, evaluation 2 stalls: halved from epoch 3 on.
    np.testing.assert_allclose(stalled.lrs[: 2 * steps_per_epoch], 1e-9)
    np.testing.assert_allclose(stalled.lrs[2 * steps_per_epoch :], 0.5e-9)


def test_every_recipe_spans_the_run_it_is_built_for() -> None:
    total = 100
    for name in recipes.RECIPES:
        scheduled = recipes.build(name, 0.1, total)
        values = np.asarray(scheduled.schedule(jnp.arange(total)))
        assert np.all(np.isfinite(values)) and values.max() == pytest.approx(0.1, rel=1e-5)
        assert (scheduled.momentum is not None) == (name == "one_cycle")
        assert (scheduled.plateau is not None) == (name == "reduce_on_plateau")
    decaying = ("exponential_decay", "cosine_decay", "warmup_cosine_decay", "one_cycle")
    for name in (*decaying, "warmup_stable_decay"):
        end = float(recipes.build(name, 0.1, total).schedule(total - 1))
        assert end < 0.01, name  # annealed by the end of the run, not before or after
    with pytest.raises(ValueError, match="unknown recipe"):
        recipes.build("wsd", 0.1, total)


def test_smoke_study_writes_every_row_and_figure(tmp_path) -> None:
    folder = write_idx_folder(str(tmp_path / "idx"), num_train=1024, num_test=512)
    out = str(tmp_path / "study")
    # One recipe of each kind of group: a plain schedule, scheduled momentum, a plateau.
    chosen = "constant,cosine_decay,one_cycle,reduce_on_plateau"
    flags = ["--smoke", "--data-dir", folder, "--out", out, "--sgd-recipes", chosen,
             "--adam-recipes", "one_cycle"]  # fmt: skip
    assert study.main(flags) == 0
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    config, _ = parse_study(flags)
    assert parse_study(["--config", os.path.join(out, "config.json")])[0] == config
    expected = (
        4 * len(config.sgd_learning_rates) + 1  # and lr_find's
        + 1 + 1  # Adam: one-cycle, lr_find's
        + len(config.sgd_learning_rates) + len(config.adam_learning_rates)  # schedule-free
        + len(config.adagrad_learning_rates) + len(config.rmsprop_learning_rates)
    )  # fmt: skip
    assert len(results["runs"]) == config.seeds * expected
    assert all(len(run["evals"]) == config.epochs for run in results["runs"])
    with open(os.path.join(out, "table.md")) as f:
        rows = [line for line in f if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == expected
    for name in chosen.split(","):
        assert any(f"| sgd | {recipes.DESCRIPTIONS[name]} |" in row for row in rows)
    assert sum("lr_find" in row for row in rows) == 2
    assert sum(row.startswith("| schedule_free_") for row in rows) == 3
    for name in ("lr_curves.png", "accuracy.png"):
        size = os.path.getsize(os.path.join(out, name))
        assert 10_000 < size < 300_000
    # --replot redraws from results.json alone, to the same table.
    with open(os.path.join(out, "table.md")) as f:
        first = f.read()
    os.remove(os.path.join(out, "accuracy.png"))
    assert study.main(["--replot", "--out", out]) == 0
    with open(os.path.join(out, "table.md")) as f:
        assert f.read() == first
    assert os.path.exists(os.path.join(out, "accuracy.png"))


def parse_study(argv):
    return flags.parse(study.StudyConfig, argv, prog="study", description="",
                       presets=study.PRESETS)  # fmt: skip


def test_study_flags_take_library_names_and_one_learning_rate_name() -> None:
    config, _ = parse_study(["--sgd-learning-rates", "0.1,0.2", "--sgd-recipes", "one_cycle"])
    assert config.sgd_learning_rates == (0.1, 0.2) and config.sgd_recipes == ("one_cycle",)
    with pytest.raises(SystemExit):
        parse_study(["--sgd-recipes", "wsd"])
    smoke, _ = parse_study(["--smoke", "--epochs", "4"])
    assert (smoke.group.model, smoke.epochs) == ("mlp", 4)  # a flag given wins over the preset
    assert (smoke.data.train_examples, smoke.data.dataset) == (512, "fashion_mnist")


@pytest.mark.parametrize(
    ("target", "evals", "cell"), [(0.0, 1, "(0.50)"), (1.01, 4, "not reached")]
)
def test_time_to_accuracy_stops_at_the_first_evaluation_on_target(
    tmp_path, target, evals, cell
) -> None:
    folder = write_idx_folder(str(tmp_path / "idx"), num_train=512, num_test=128)
    out = str(tmp_path / "tta")
    flags = ["--data-dir", folder, "--out", out, "--model", "mlp", "--runs", "constant:2",
             "--evals-per-epoch", "2", "--target", str(target)]  # fmt: skip
    assert time_to_accuracy.main(flags) == 0
    with open(os.path.join(out, "results.json")) as f:
        (run,) = json.load(f)["runs"]
    assert len(run["evals"]) == evals
    assert (run["seconds_to_target"] is None) == (target > 1)
    with open(os.path.join(out, "table.md")) as f:
        assert cell in f.read().splitlines()[-1]


def test_a_part_of_one_run_compiles_without_a_batched_convolution() -> None:
    # What makes parts of one pay on CPU: the convolution keeps one kernel, where a vmap
    # over several runs' kernels becomes a grouped convolution.
    kernels = jnp.ones((4, 3, 3, 1, 8))
    images = jnp.ones((4, 2, 28, 28, 1))

    def conv(kernel, x):
        return jax.lax.conv_general_dilated(
            x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    def groups(size: int) -> set[str]:
        hlo = jax.jit(jax.vmap(conv)).lower(kernels[:size], images[:size]).as_text()
        return set(re.findall(r"feature_group_count = (\d+)", hlo))

    assert groups(4) == {"4"}
    assert groups(1) == {"1"}


def test_group_config_rejects_bad_sizes() -> None:
    for name in ("max_group_size", "vmap_size"):
        with pytest.raises(ValueError, match=flags.flag(name)):
            group.GroupConfig(**{name: -1})
    with pytest.raises(ValueError, match="vmap_size"):
        group.resolve_vmap_size(-1, 4)
    assert group.resolve_vmap_size(4, 3) == 3
    assert group.resolve_vmap_size(2, 3) == 2


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU defaults")
def test_cpu_vmaps_one_run_at_a_time_with_native_convolutions_by_default(device_data) -> None:
    assert group.resolve_vmap_size(0, 8) == 1
    assert not group.use_matmul_convs("auto", vmap_size=1)
    assert group.use_matmul_convs("auto", vmap_size=8)
    runs = [sgd(jaxsched.constant(lr), 0) for lr in (0.05, 0.1, 0.2)]
    cnn = group.GroupConfig(model="cnn", batch_size=32)
    assert group.RunGroup(runs[:1], device_data, cnn).options != {}
    untuned = dataclasses.replace(cnn, cpu_tuning=False)
    assert group.RunGroup(runs[:1], device_data, untuned).options == {}

    # By default every run of a structure shares one group, one run per call.
    together = group.train_all(runs, device_data, MLP, EPOCHS)
    assert [r.group_size for r in together] == [3, 3, 3]
    one_by_one = group.train_all(
        runs, device_data, dataclasses.replace(MLP, max_group_size=1), EPOCHS
    )
    assert [r.group_size for r in one_by_one] == [1, 1, 1]
    for a, b in zip(one_by_one, together, strict=True):
        assert a.run is b.run
        np.testing.assert_allclose(a.final["test_loss"], b.final["test_loss"], rtol=1e-4)


def test_train_all_hands_over_the_runs_so_far_after_every_group(device_data) -> None:
    # Two structures (a numeric momentum and none), interleaved: two groups, in order of
    # first appearance; after each, the finished runs in the order of `runs`.
    runs = [sgd(jaxsched.constant(0.1), 0), sgd(jaxsched.constant(0.1), 0, momentum=None)]
    runs.append(sgd(jaxsched.constant(0.05), 1))
    seen: list[list[group.Run]] = []
    results = group.train_all(runs, device_data, MLP, 1, on_group=lambda done: seen.append(
        [r.run for r in done]))  # fmt: skip
    assert seen == [[runs[0], runs[2]], runs]
    assert [r.run for r in results] == runs
