"""Data-parallel training over 4 (fake CPU) devices matches training on 1 device."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from tests.mnist_helpers import REPO, write_idx_folder

# Runs in a fresh process: XLA_FLAGS must be set before JAX initialises its CPU backend.
_SCRIPT = """
import dataclasses, json, sys
import jax, numpy as np
from examples.mnist import configs, train
data_dir, workdir = sys.argv[1:3]
results = {}
for devices in (1, 4):
    config = configs.Config(model="cnn", data_dir=data_dir, epochs=1, batch_size=64,
                            workdir=f"{workdir}/{devices}", num_devices=devices, progress=False,
                            plot=False, log_every_steps=1)
    summary = train.train_and_evaluate(config)
    with open(f"{workdir}/{devices}/metrics.jsonl") as f:
        losses = [json.loads(line).get("loss") for line in f]
    leaves = jax.tree.leaves(summary["state"]["model"])
    results[devices] = {
        "losses": losses[:-1],
        "test_accuracy": summary["test_accuracy"],
        "test_loss": summary["test_loss"],
        "num_devices": summary["num_devices"],
        "param_devices": len(leaves[0].sharding.device_set),
        "params": [np.asarray(leaf).ravel().tolist() for leaf in leaves],
    }
print(json.dumps(results))
"""


def test_four_devices_reach_the_same_metrics_as_one(tmp_path):
    data_dir = write_idx_folder(str(tmp_path / "data"), num_train=512, num_test=128)
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, data_dir, str(tmp_path / "runs")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout.splitlines()[-1])
    one, four = results["1"], results["4"]
    assert (one["num_devices"], four["num_devices"]) == (1, 4)
    assert four["param_devices"] == 4
    assert len(one["losses"]) == 8
    # Summing the gradient over 4 shards changes the order of float additions, nothing else.
    np.testing.assert_allclose(four["losses"], one["losses"], rtol=1e-4)
    np.testing.assert_allclose(four["test_loss"], one["test_loss"], rtol=1e-4)
    assert abs(four["test_accuracy"] - one["test_accuracy"]) <= 1 / 128
    for leaf_four, leaf_one in zip(four["params"], one["params"], strict=True):
        np.testing.assert_allclose(leaf_four, leaf_one, rtol=1e-3, atol=1e-5)
    assert one["losses"][-1] < one["losses"][0]
