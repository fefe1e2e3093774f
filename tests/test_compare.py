"""examples/compare: vmapped sweeps equal separate runs, grouping, compiles, plateau, the study."""

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

import jaxsched
from examples.compare import study, sweep, time_to_accuracy
from examples.mnist import data, models
from tests.mnist_helpers import synthetic_digits, write_idx_folder

MLP = sweep.SweepConfig(model="mlp", epochs=2, batch_size=32)


@pytest.fixture(scope="module")
def device_data() -> sweep.DeviceData:
    train_images, train_labels = synthetic_digits(384, seed=0)
    test_images, test_labels = synthetic_digits(200, seed=1)
    dataset = data.Dataset(
        train_images[..., None], train_labels.astype(np.int32),
        test_images[..., None], test_labels.astype(np.int32),
    )  # fmt: skip
    return sweep.put_data(dataset, validation_examples=128, eval_batch_size=64)


def sgd(family: str, schedule: jaxsched.Schedule, seed: int, lr: float, **kwargs) -> sweep.Run:
    return sweep.Run(
        family, "sgd", schedule, seed, lr, momentum=kwargs.pop("momentum", 0.9), **kwargs
    )


def train_alone(run: sweep.Run, device_data: sweep.DeviceData, config: sweep.SweepConfig):
    """The run as a plain training loop: no vmap, no injection, optax given the schedule."""
    module = models.create(config.model)
    init_key, data_key = jax.random.split(jax.random.PRNGKey(run.seed))
    params = module.init(init_key, jnp.zeros((1, 28, 28, 1)))["params"]
    optimizer = optax.sgd(run.learning_rate, momentum=run.momentum)
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, x, y):
        def loss_fn(params):
            logits = module.apply({"params": params}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    count = device_data.train_images.shape[0]
    for epoch in range(config.epochs):
        order = jax.random.permutation(jax.random.fold_in(data_key, epoch), count)
        for i in range(count // config.batch_size):
            index = order[i * config.batch_size : (i + 1) * config.batch_size]
            x = device_data.train_images[index].astype(jnp.float32) / 255.0
            params, opt_state, _ = step(params, opt_state, x, device_data.train_labels[index])
    return params


@pytest.mark.parametrize("vmap_size", [3, 2, 1])
def test_vmapped_runs_equal_the_same_runs_trained_one_by_one(device_data, vmap_size) -> None:
    runs = [
        sgd("cosine", jaxsched.cosine_decay(lr, 16), seed, lr)
        for lr, seed in ((0.05, 0), (0.2, 0), (0.1, 1))
    ]
    config = dataclasses.replace(MLP, vmap_size=vmap_size)
    together = sweep.train_group(runs, device_data, config)
    for run, vmapped in zip(runs, together, strict=True):
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
            vmapped.params,
            train_alone(run, device_data, MLP),
        )
    # A group of one gives the same metrics as the same run inside a group of three.
    (alone,) = sweep.train_group([runs[2]], device_data, config)
    assert together[2].group_size == 3 and alone.group_size == 1
    np.testing.assert_allclose(together[2].lrs, alone.lrs, rtol=1e-6)
    for key in ("train_loss", "test_loss", "test_accuracy"):
        np.testing.assert_allclose(
            [e[key] for e in together[2].evals], [e[key] for e in alone.evals], rtol=1e-4
        )
    # Different learning rates from one seed really are different runs.
    assert together[0].evals[-1]["train_loss"] != together[1].evals[-1]["train_loss"]


def test_runs_of_one_seed_share_initialisation_and_data_order(device_data) -> None:
    runs = [sgd("constant", jaxsched.constant(0.0), 3, 0.0) for _ in range(2)]
    first, second = sweep.train_group(runs, device_data, MLP)
    jax.tree.map(np.testing.assert_array_equal, first.params, second.params)


def test_families_are_grouped_by_structure_and_numbers_never_recompile(device_data) -> None:
    runs = [
        sgd("constant", jaxsched.constant(0.1), 0, 0.1),
        sgd("cosine", jaxsched.cosine_decay(0.1, 16), 0, 0.1),
        sgd("constant", jaxsched.constant(0.3), 1, 0.3),
        sgd("one_cycle", jaxsched.one_cycle(0.1, 16), 0, 0.1,
            momentum=jaxsched.one_cycle_momentum(16)),
        sgd("lr_find", jaxsched.constant(0.01), 0, 0.01),
        sgd("plateau", jaxsched.constant(0.1), 0, 0.1,
            plateau=jaxsched.reduce_on_plateau(patience=0)),
        sweep.Run("constant", "adam", jaxsched.constant(1e-3), 0, 1e-3),
        sgd("cosine", jaxsched.cosine_decay(0.2, 16), 1, 0.2),
    ]  # fmt: skip
    assert sweep.group_by_structure(runs) == [[0, 2, 4], [1, 7], [3], [5], [6]]
    assert sweep.group_by_structure(runs, max_size=2) == [[0, 2], [4], [1, 7], [3], [5], [6]]
    assert sweep.group_by_structure(runs, max_size=1) == [[i] for i in (0, 2, 4, 1, 7, 3, 5, 6)]

    before = sweep.COMPILES["train_step"]
    sweep.train_group([runs[1], runs[7]], device_data, MLP)
    assert sweep.COMPILES["train_step"] == before + 1
    other_numbers = [
        sgd("cosine", jaxsched.cosine_decay(lr, steps), seed, lr)
        for lr, steps, seed in ((0.5, 7, 4), (0.01, 100, 5))
    ]
    reused = sweep.train_group(other_numbers, device_data, MLP)
    assert sweep.COMPILES["train_step"] == before + 1
    # The reused program follows the new numbers: they are arguments, not constants.
    for run, result in zip(other_numbers, reused, strict=True):
        steps = np.arange(len(result.lrs))
        np.testing.assert_allclose(result.lrs, run.learning_rate(steps), rtol=1e-5)
    with pytest.raises(ValueError, match="one structure"):
        sweep.train_group(runs[:2], device_data, MLP)


def test_plateau_inside_the_sweep_reduces_only_the_run_whose_metric_stalls(device_data) -> None:
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0)
    # A learning rate of 1e-9 cannot move the validation loss by the relative threshold 1e-4,
    # so from the second evaluation on it counts as a stall; 0.05 keeps improving.
    runs = [sgd("plateau", jaxsched.constant(lr), 0, lr, plateau=plateau) for lr in (1e-9, 0.05)]
    config = sweep.SweepConfig(model="mlp", epochs=3, batch_size=32)
    stalled, learning = sweep.train_group(runs, device_data, config)
    steps_per_epoch = len(stalled.lrs) // 3
    val_losses = [e["val_loss"] for e in learning.evals]
    assert val_losses[0] > val_losses[1] > val_losses[2]
    np.testing.assert_allclose(learning.lrs, 0.05)
    # Evaluation 1 sets the best, evaluation 2 stalls: halved from epoch 3 on.
    np.testing.assert_allclose(stalled.lrs[: 2 * steps_per_epoch], 1e-9)
    np.testing.assert_allclose(stalled.lrs[2 * steps_per_epoch :], 0.5e-9)


def test_convolutions_as_matmuls_match_flax_conv() -> None:
    model = models.create("cnn")
    x = jax.random.uniform(jax.random.PRNGKey(1), (4, 28, 28, 1))
    params = model.init(jax.random.PRNGKey(0), x)["params"]

    @functools.partial(jax.jit, static_argnames="conv")
    def logits_and_grads(params, conv):
        def loss(params):
            logits = sweep.apply_model(model, params, x, conv)
            return jnp.sum(logits**2), logits

        return jax.grad(loss, has_aux=True)(params)

    native_grads, native = logits_and_grads(params, "native")
    matmul_grads, matmul = logits_and_grads(params, "matmul")
    np.testing.assert_allclose(matmul, native, rtol=1e-4, atol=1e-5)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4),
        matmul_grads,
        native_grads,
    )


def test_smoke_study_writes_every_row_and_figure(tmp_path) -> None:
    folder = write_idx_folder(str(tmp_path / "idx"), num_train=1024, num_test=512)
    out = str(tmp_path / "study")
    assert study.main(["--smoke", "--data-dir", folder, "--out", out, "--seeds", "2"]) == 0
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    config = study.parse(["--smoke"])
    expected = (
        len(config.families) * len(config.sgd_lrs) + 1
        + len(config.adam_families) * len(config.adam_lrs) + 1
        + len(config.adagrad_lrs) + len(config.rmsprop_lrs)
    )  # fmt: skip
    assert len(results["runs"]) == 2 * expected
    assert all(len(run["evals"]) == config.epochs for run in results["runs"])
    with open(os.path.join(out, "table.md")) as f:
        rows = [line for line in f if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == expected
    for family in config.families:
        assert any(f"| sgd | {study.DESCRIPTIONS[family]} |" in row for row in rows)
    assert sum("lr_find" in row for row in rows) == 2
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


def test_vmap_in_parts_equals_one_vmap_over_all_runs() -> None:
    def fn(params, x):
        return {"y": jnp.tanh(params["w"] @ x), "norm": jnp.sum(params["w"] ** 2)}

    params = {"w": jax.random.normal(jax.random.PRNGKey(0), (5, 3, 4))}
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 4))
    expected = jax.vmap(fn)(params, x)
    for vmap_size in (1, 2, 5, 8):
        got = jax.jit(sweep.vmap_in_parts(fn, vmap_size))(params, x)
        jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-6), got, expected)


def test_a_part_of_one_run_compiles_without_a_batched_convolution() -> None:
    # What makes parts of one pay on CPU: the convolution keeps one kernel, where a vmap
    # over several runs' kernels becomes a grouped convolution.
    kernels = jnp.ones((4, 3, 3, 1, 8))
    images = jnp.ones((4, 2, 28, 28, 1))

    def conv(kernel, x):
        return jax.lax.conv_general_dilated(
            x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    def groups(vmap_size: int) -> set[str]:
        hlo = jax.jit(sweep.vmap_in_parts(conv, vmap_size)).lower(kernels, images).as_text()
        return set(re.findall(r"feature_group_count = (\d+)", hlo))

    assert groups(4) == {"4"}
    assert groups(1) == {"1"}


def test_sweep_config_rejects_negative_sizes() -> None:
    for name in ("max_group_size", "vmap_size"):
        with pytest.raises(ValueError, match=name):
            sweep.SweepConfig(**{name: -1})
    with pytest.raises(ValueError, match="vmap_size"):
        sweep.resolve_vmap_size(-1, 4)


def test_vmap_size_is_capped_by_the_group() -> None:
    assert sweep.resolve_vmap_size(4, 3) == 3
    assert sweep.resolve_vmap_size(2, 3) == 2


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU defaults")
def test_cpu_vmaps_one_run_at_a_time_with_native_convolutions_by_default(device_data) -> None:
    assert sweep.resolve_vmap_size(0, 8) == 1
    assert sweep.resolve_conv("auto", vmap_size=1) == "native"
    assert sweep.resolve_conv("auto", vmap_size=8) == "matmul"
    cnn = sweep.SweepConfig(model="cnn")
    assert sweep.step_compiler_options(cnn, "native") != {}
    assert sweep.step_compiler_options(cnn, "matmul") == {}
    untuned = sweep.SweepConfig(model="cnn", cpu_tuning=False)
    assert sweep.step_compiler_options(untuned, "native") == {}

    # By default every run of a structure shares one compiled update.
    runs = [sgd("constant", jaxsched.constant(lr), 0, lr) for lr in (0.05, 0.1, 0.2)]
    together = sweep.train_all(runs, device_data, MLP)
    assert [r.group_size for r in together] == [3, 3, 3]
    one_by_one = sweep.train_all(runs, device_data, dataclasses.replace(MLP, max_group_size=1))
    assert [r.group_size for r in one_by_one] == [1, 1, 1]
    for a, b in zip(one_by_one, together, strict=True):
        assert a.run is b.run
        np.testing.assert_allclose(a.final["test_loss"], b.final["test_loss"], rtol=1e-4)
