"""Population-based training on the training core (examples/compare/pbt.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from examples import experiment
from examples.compare import group, pbt
from tests.mnist_helpers import REPO, free_port, wait_all, write_idx_folder


def tiny_config(folder: str, **overrides: Any) -> pbt.PBTConfig:
    """A linear model on 256 images: 8 updates, an exploit step every 2."""
    data = experiment.DataConfig(
        data_dir=folder,
        dataset="mnist",
        train_examples=256,
        validation_examples=128,
        test_examples=128,
        eval_batch_size=128,
    )
    settings = dict(epochs=1, population=4, ready=2, truncation=0.5)
    settings.update(overrides)
    return pbt.PBTConfig(
        data=data, group=group.GroupConfig(model="linear", batch_size=32), **settings
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_idx_folder(str(tmp_path_factory.mktemp("data")), num_train=512, num_test=128)


@pytest.fixture(scope="module")
def trained(folder: str) -> tuple[pbt.PBTConfig, pbt.Population, int]:
    config = tiny_config(folder)
    schedules = pbt.search_space(config, 8).sample(jax.random.key(0), config.population)
    pbt.exploit_and_explore.clear_cache()
    before = len(pbt.TRACES)
    population = pbt.train_population(config, config.data.put(), schedules, 0, exploit=True)
    return config, population, len(pbt.TRACES) - before


def test_generations_reuse_one_compiled_exploit_step_and_flat_memory(trained: Any) -> None:
    _, population, traces = trained
    assert len(population.parents) == 3  # exploit steps at updates 2, 4 and 6
    assert traces == 1
    assert population.compiles[1:] == [0, 0], population.compiles  # XLA compiled nothing
    assert len(set(population.live_arrays[1:])) == 1, population.live_arrays


def test_the_replayed_history_gives_each_members_learning_rates_step_for_step(
    trained: Any,
) -> None:
    config, population, _ = trained
    steps = np.arange(population.lrs.shape[1])
    assert population.lrs.shape == (4, 8)
    for k, history in enumerate(population.histories):
        replayed = pbt.replay(history, config.ready)
        np.testing.assert_allclose(replayed(steps), population.lrs[k], rtol=1e-6)
        again = jaxsched.from_config(json.loads(json.dumps(replayed.to_config())))
        np.testing.assert_array_equal(again(steps), replayed(steps))


def test_exploit_copies_the_chosen_members_state_bit_for_bit_and_explores_its_schedule() -> None:
    size = 8
    state = {"w": jax.random.normal(jax.random.key(1), (size, 3, 2)), "n": jnp.arange(size)}
    schedules = jaxsched.stack([jaxsched.one_cycle(0.1 * (k + 1), 100) for k in range(size)])
    hyperparams = {"learning_rate": schedules, "momentum": jnp.full(size, 0.9)}
    scores = jnp.asarray([0.5, 0.9, 0.1, 0.8, 0.3, 0.7, 0.2, 0.6])
    explore = jaxsched.Perturbation("one_cycle")
    before = jax.tree.map(np.asarray, (state, hyperparams))
    new_state, new_hyper, parents = pbt.exploit_and_explore(
        state, hyperparams, scores, jax.random.key(2), explore=explore, truncation=0.25
    )
    parents = np.asarray(parents)
    assert set(parents[[2, 6]]) <= {1, 3}  # the bottom two copy from the top two
    assert all(parents[k] == k for k in (0, 1, 3, 4, 5, 7))
    for k, parent in enumerate(parents):
        np.testing.assert_array_equal(np.asarray(new_state["w"][k]), before[0]["w"][parent])
        assert int(new_state["n"][k]) == parent
        old_peak = before[1]["learning_rate"].peak_value[parent]
        peak = float(new_hyper["learning_rate"].peak_value[k])
        if parent == k:
            assert peak == old_peak
        else:
            assert peak in (np.float32(old_peak * 0.8), np.float32(old_peak * 1.25))


_SHARDED = """
import json, sys
import jax, numpy as np
from examples.compare import pbt
from tests.test_pbt import tiny_config
out = {}
for shard in (False, True):
    config = tiny_config(sys.argv[1], population=8, shard=shard)
    schedules = pbt.search_space(config, 8).sample(jax.random.key(0), 8)
    result = pbt.train_population(config, config.data.put(), schedules, 0, exploit=True)
    devices = {d for leaf in jax.tree.leaves(result.state) for d in leaf.sharding.device_set}
    out[str(shard)] = {"parents": result.parents, "lrs": result.lrs.tolist(),
                       "val": result.val_accuracy, "test": result.test_accuracy.tolist(),
                       "devices": len(devices)}
print(json.dumps(out))
"""


def test_a_population_sharded_over_four_devices_trains_as_on_one(folder: str) -> None:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    done = subprocess.run(
        [sys.executable, "-c", _SHARDED, folder],
        cwd=REPO,
        env={**env, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])
    one, four = results["False"], results["True"]
    assert (one["devices"], four["devices"]) == (1, 4)
    assert four["parents"] == one["parents"]
    np.testing.assert_allclose(four["lrs"], one["lrs"], rtol=1e-6)
    np.testing.assert_allclose(four["val"], one["val"], atol=1 / 128)
    np.testing.assert_allclose(four["test"], one["test"], atol=1 / 128)


# The CLI's smallest run: a linear model, 2 members, an exploit step after every update.
_CLI = ["--smoke", "--dataset", "mnist", "--model", "linear", "--train-examples", "128",
        "--validation-examples", "64", "--test-examples", "64", "--eval-batch-size", "64",
        "--population", "2", "--ready", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def cli_out(folder: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = str(tmp_path_factory.mktemp("cli") / "out")
    assert pbt.main([*_CLI, "--data-dir", folder, "--out", out]) == 0
    return out


def test_the_cli_writes_its_outputs_and_a_winner_that_replays(cli_out: str) -> None:
    out = cli_out
    assert {"table.md", "results.json", "population.png", "winner.json", "config.json"} <= set(
        os.listdir(out)
    )
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    seed = results["seeds"][0]
    assert results["exploit_traces"] >= 1 and len(seed["pbt"]["parents"]) == 3
    with open(os.path.join(out, "winner.json")) as f:
        winner = jaxsched.from_config(json.load(f))
    lrs = np.asarray(seed["lrs"][seed["pbt"]["winner"]])
    np.testing.assert_allclose(winner(np.asarray(seed["lr_steps"])), lrs, rtol=1e-6)
    with open(os.path.join(out, "table.md")) as f:
        assert "PBT (winner by validation)" in f.read()


def test_bad_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="--truncation"):
        pbt.PBTConfig(truncation=0.9)
    with pytest.raises(ValueError, match="--family"):
        pbt.PBTConfig(family="cosine")


def _numbers(out: str) -> dict[str, Any]:
    with open(os.path.join(out, "results.json")) as f:
        (seed,) = json.load(f)["seeds"]
    return {"parents": seed["pbt"]["parents"], "lrs": seed["lrs"],
            **{f"{name} val": seed[name]["val_accuracy"] for name in ("pbt", "random")},
            **{f"{name} test": seed[name]["test_accuracy"] for name in ("pbt", "random")},
            **{name: seed[name]["test_accuracy"] for name in ("fixed", "replay")}}  # fmt: skip


def test_two_processes_train_the_population_as_one_process_does(
    folder: str, cli_out: str, tmp_path: Any
) -> None:
    # Each process has one CPU device; the two members lie one on each (sharded as --shard
    # does: tests above pin sharded = unsharded on four devices). Their process 0 writes.
    address = f"127.0.0.1:{free_port()}"
    out = str(tmp_path / "two")
    argv = [*_CLI, "--data-dir", folder, "--out", out, "--distributed", "--coordinator-address",
            address, "--num-processes", "2", "--process-id"]  # fmt: skip
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    processes = [
        subprocess.Popen([sys.executable, "-m", "examples.compare.pbt", *argv, str(i)], cwd=REPO,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in (0, 1)
    ]  # fmt: skip
    wait_all(processes, timeout=300)
    expected, got = _numbers(cli_out), _numbers(out)
    assert got["parents"] == expected["parents"]
    for name, values in expected.items():  # accuracies on 64 images: to one image
        np.testing.assert_allclose(got[name], values, rtol=1e-6, atol=1 / 64, err_msg=name)
