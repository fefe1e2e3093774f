"""A training process killed with SIGKILL and resumed ends bit-identical to one never stopped."""

from __future__ import annotations

import json
import os
import signal
import time

import jax
import numpy as np
import orbax.checkpoint as ocp

from tests.mnist_helpers import cli, run_cli, shared_compiles, write_idx_folder

_TIMING_FIELDS = ("seconds", "images_per_s")


def _flags(data_dir: str, workdir: str) -> list[str]:
    # 4 epochs of 64 steps, a checkpoint every 24: the kill lands mid-epoch, after step 120.
    return [
        "--data-dir",
        data_dir,
        "--workdir",
        workdir,
        "--model",
        "mlp",
        "--epochs",
        "4",
        "--batch-size",
        "16",
        "--checkpoint-every-steps",
        "24",
        "--keep-checkpoints",
        "2",
        "--log-every-steps",
        "8",
        "--no-progress",
        "--no-plot",
    ]


def _final_state(workdir: str) -> tuple[int, dict]:
    directory = os.path.join(workdir, "checkpoints")
    step = max(int(name) for name in os.listdir(directory) if name.isdigit())
    path = os.path.join(directory, str(step), "state")
    # The CLI may have saved from several CPU devices; put the arrays on this process's first.
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    with ocp.StandardCheckpointer() as checkpointer:
        target = jax.tree.map(
            lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=device),
            checkpointer.metadata(path).item_metadata.tree,
        )
        return step, checkpointer.restore(path, target)


def _records(workdir: str) -> list[dict]:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    return [{k: v for k, v in r.items() if k not in _TIMING_FIELDS} for r in records]


def _complete_checkpoints(workdir: str) -> list[int]:
    directory = os.path.join(workdir, "checkpoints")
    if not os.path.isdir(directory):
        return []
    return [int(name) for name in os.listdir(directory) if name.isdigit()]


def test_run_killed_mid_training_resumes_to_bit_identical_params_and_metrics(tmp_path):
    data_dir = write_idx_folder(str(tmp_path / "data"), num_train=1024, num_test=128)
    reference_dir, killed_dir = str(tmp_path / "reference"), str(tmp_path / "killed")
    env = shared_compiles(tmp_path / "compiled")  # the three runs compile one program set

    reference = run_cli(*_flags(data_dir, reference_dir), env=env)
    assert reference.returncode == 0, reference.stderr

    process = cli(*_flags(data_dir, killed_dir), env=env)
    deadline = time.monotonic() + 120
    while not any(step >= 120 for step in _complete_checkpoints(killed_dir)):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint past step 120 within 120 s"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    killed_at = max(_complete_checkpoints(killed_dir))
    assert killed_at < 256, "the run finished before it was killed"

    resumed = run_cli(*_flags(data_dir, killed_dir), "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from the checkpoint at step {killed_at}" in resumed.stdout

    reference_step, reference_state = _final_state(reference_dir)
    resumed_step, resumed_state = _final_state(killed_dir)
    assert reference_step == resumed_step == 256
    flat_reference = dict(_flatten(reference_state))
    flat_resumed = dict(_flatten(resumed_state))
    assert flat_reference.keys() == flat_resumed.keys()
    for key, value in flat_reference.items():
        np.testing.assert_array_equal(flat_resumed[key], value, err_msg=key, strict=True)
    assert _records(killed_dir) == _records(reference_dir)
    assert (
        resumed.stdout.splitlines()[-1].split(" after")[0]
        == (reference.stdout.splitlines()[-1].split(" after")[0])
    )


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}/{key}")
    elif isinstance(tree, list | tuple):
        for index, value in enumerate(tree):
            yield from _flatten(value, f"{prefix}/{index}")
    else:
        yield prefix, np.asarray(tree)
