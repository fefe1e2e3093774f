"""The benchmarks' harness and the accelerator suite: the suite's entry command at toy sizes on
CPU, so that it cannot rot between the runs on a GPU; the timing harness, the roofline's FLOP
count, the PyTorch peer's worker and the compile counter."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import schedule_overhead, step_profile, timing, torch_peer
from benchmarks.accelerator import suite
from examples import flags
from tests import mnist_helpers


def test_the_accelerator_suite_writes_every_part_to_json_and_a_table(tmp_path, monkeypatch):
    # One run, in this process, serves both checks: the second batch's PyTorch cannot use its
    # device, which must cost only that batch's PyTorch column.
    devices = iter(["cpu", "no-such-device"])
    monkeypatch.setattr(suite, "torch_device", lambda: next(devices))
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    mnist = mnist_helpers.write_idx_folder(str(tmp_path / "mnist"), num_train=600, num_test=256)
    out = tmp_path / "out"
    preset = ["--tiny", "--recipes", "one_cycle", "--batch-sizes", "8,16"]
    assert suite.main([*preset, "--mnist-dir", mnist, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["device_count"] == 1 and results["jax"] == jax.__version__
    # The sweep goes first: its peak-memory readings must not include the step part's peak.
    assert list(results).index("sweep") < list(results).index("step")
    rows = results["step"]["rows"]
    assert [row["batch_size"] for row in rows] == [8, 16]  # the JAX rows of both batches
    for row in rows:
        assert row["jax_images_per_s"] > 0
        assert row["step_gflop"] > 0 and row["step_share_of_matmul"] > 0
    table = (out / "table.md").read_text()
    if torch_peer.version() is not None:
        assert rows[0]["torch_device"] == "cpu" and rows[0]["jax_over_torch_eager"] > 0
        assert "torch_eager_error" in rows[1] and "jax_over_torch_eager" not in rows[1]
        assert "PyTorch eager at batch 16 failed: RuntimeError" in table
        del rows[1]["torch_eager_error"]
    sweep = results["sweep"]["rows"]
    assert [row["k"] for row in sweep] == [1, 2]
    assert all(row["speedup"] > 0 and row["peak_memory_mb"] is None for row in sweep)  # CPU
    (accuracy,) = results["accuracy"]["rows"]
    assert accuracy["recipe"] == "one_cycle" and accuracy["evals"]
    assert "error" not in json.dumps(results)
    for heading in ("## Update step (linear)", "## Vmapped sweep", "## Time to 50% test"):
        assert heading in table
    assert "| 2 |" in table and "| n/a |" in table and "| one_cycle |" in table


def test_the_suite_without_mnist_says_so_in_one_line(tmp_path, capsys):
    argv = ["--tiny", "--mnist-dir", str(tmp_path / "nothing"), "--out", str(tmp_path)]
    assert suite.main(argv) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert not os.path.exists(tmp_path / "results.json")


def test_roofline_counts_a_matmuls_flops_as_two_per_multiply_add():
    a = jnp.ones((64, 32), jnp.float32)
    b = jnp.ones((32, 16), jnp.float32)
    compiled = jax.jit(jnp.matmul).lower(a, b).compile()
    assert timing.compiled_flops(compiled) == 2 * 64 * 32 * 16


def test_a_torch_worker_that_does_not_answer_in_time_is_killed():
    if torch_peer.version() is None:
        pytest.skip("torch is not installed")
    side = torch_peer.TorchSide(tiny=True, batch_size=8, keep_freed_memory=False)
    with pytest.raises(TimeoutError):
        torch_peer.TorchWorker(side, timeout=0.01)  # it cannot even import torch


def test_the_harness_warms_up_then_times_every_side_in_turns():
    calls: list[tuple[str, int]] = []

    def side(name: str, seconds_a_step: float) -> timing.Side:
        def run(steps: int) -> float:
            calls.append((name, steps))
            return seconds_a_step * steps

        return run

    times = timing.in_turns({"a": side("a", 2.0), "b": side("b", 0.5)}, {"a": 3, "b": 30}, 2)
    warmup, turns = calls[:2], calls[2:]
    assert warmup == [("a", 3), ("b", 3)]
    assert turns == [("a", 3), ("b", 30), ("a", 3), ("b", 30)]
    assert times == {"a": [2.0, 2.0], "b": [0.5, 0.5]}  # seconds a step, one per round
    assert timing.medians({"a": [3.0, 1.0, 2.0]}) == {"a": 2.0}


def test_a_loop_side_calls_steps_times_and_waits_for_the_last_result(monkeypatch):
    results = iter(range(10))
    waited = []
    monkeypatch.setattr(timing.jax, "block_until_ready", waited.append)
    assert timing.loop(lambda: next(results))(4) >= 0
    assert waited == [3] and next(results) == 4


@jax.numpy_rank_promotion("allow")  # the benchmark's MLP adds its biases by broadcasting
def test_the_compile_counter_sees_a_new_shape_and_not_a_new_schedule():
    batch = (jnp.ones((4, 784)), jnp.zeros(4, jnp.int32))
    schedule = schedule_overhead.jaxsched.warmup_cosine_decay(0.0, 1e-3, 5, 100)
    variant = schedule_overhead.Variant(schedule, True, False, 0, [784, 8, 10], batch)
    assert schedule_overhead.recompiles(variant, 100) == 0
    variant.batch = (jnp.ones((2, 784)), jnp.zeros(2, jnp.int32))  # another shape compiles
    assert schedule_overhead.recompiles(variant, 100) == 1


def test_a_torch_side_round_trips_through_the_workers_flags():
    side = torch_peer.TorchSide(tiny=True, batch_size=8, keep_freed_memory=True, compile=True)
    parsed, _ = flags.parse(torch_peer.TorchSide, side.flags(), prog="x", description="")
    assert parsed == side


def test_the_profiles_layer_ops_are_the_gradients_of_their_layers():
    ops = step_profile._layer_ops(2)
    assert list(ops) == [
        "conv1 forward", "conv1 wgrad", "conv2 forward", "conv2 dgrad", "conv2 wgrad",
        "dense1 forward", "dense1 dgrad", "dense1 wgrad",
    ]  # fmt: skip
    function, (x, w, dy) = ops["dense1 wgrad"]
    np.testing.assert_allclose(jax.jit(function)(x, w, dy), x.T @ dy, rtol=1e-4, atol=1e-5)
    function, _ = ops["dense1 dgrad"]
    np.testing.assert_allclose(jax.jit(function)(x, w, dy), dy @ w.T * 0.25, rtol=1e-4, atol=1e-5)


def test_the_profile_reads_each_hlo_instructions_shape_and_jax_operation():
    hlo = (
        "  %ynn_fusion.13 = f32[128,14,14,32]{3,2,1,0} fusion(%a, %b), kind=kCustom, "
        'metadata={op_name="jit(train_step)/transpose(jvp())/div" stack_frame_id=46}\n'
        "  ROOT %copy.5 = f32[10]{0} copy(%c)\n"
    )
    assert step_profile._instructions(hlo) == {
        "ynn_fusion.13": ("f32[128,14,14,32]{3,2,1,0}", "jit(train_step)/transpose(jvp())/div"),
        "copy.5": ("f32[10]{0}", ""),
    }
