"""Tests of examples/mnist/cooldown.py: cooldown branches off a stable run's checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

import jaxsched
from examples.mnist import checkpoint, configs, cooldown, data, main, train
from tests.mnist_helpers import write_idx_folder

# 256 images at batch 16: 16 steps an epoch; the stable run is 3 epochs (48 steps).
_STABLE = dict(
    model="mlp",
    epochs=3,
    batch_size=16,
    learning_rate=0.1,
    schedule="warmup_constant",
    schedule_args=json.dumps({"init_value": 0.0, "warmup_steps": 4}),
    checkpoint_every_steps=0,
    keep_checkpoints=1,
    log_every_steps=4,
    progress=False,
    plot=False,
)


@pytest.fixture(scope="module")
def stable(tmp_path_factory):
    """The data and a stable run that kept its checkpoint at step 20."""
    root = tmp_path_factory.mktemp("cooldown")
    data_dir = write_idx_folder(str(root / "data"), num_train=256, num_test=64)
    config = configs.Config(
        **_STABLE, data_dir=data_dir, workdir=str(root / "stable"), keep_checkpoint_steps=(20,)
    )
    dataset = data.load(config.dataset, config.data_dir)
    train.train_and_evaluate(config, dataset)
    return config, dataset


def _branch(stable_config, branch_dir, **overrides) -> configs.Config:
    flags = dict(workdir=str(branch_dir), cooldown_from=stable_config.workdir)
    flags.update(cooldown_at=20, cooldown_steps=10)
    return dataclasses.replace(stable_config, **{**flags, **overrides})


def _steps(workdir: str) -> dict[int, dict]:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    return {r["step"]: r for r in records if "loss" in r}


def _record(workdir: str) -> dict:
    checkpoints = checkpoint.Checkpoints(os.path.join(workdir, "checkpoints"), keep=1)
    try:
        step = checkpoints.latest_step()
        assert step is not None
        return checkpoints.read_record(step)
    finally:
        checkpoints.close()


def _stable_steps(config: configs.Config) -> list[int]:
    checkpoints = checkpoint.Checkpoints(os.path.join(config.workdir, "checkpoints"), keep=1)
    try:
        return checkpoints.all_steps()
    finally:
        checkpoints.close()


def test_stable_run_keeps_the_checkpoints_asked_for_beside_the_latest(stable):
    assert _stable_steps(stable[0]) == [20, 48]


def test_branch_continues_the_stable_run_bit_identically_then_decays(stable, tmp_path):
    config, dataset = stable
    branch = _branch(config, tmp_path / "branch")
    summary = train.train_and_evaluate(branch, dataset)

    ours, theirs = _steps(branch.workdir), _steps(config.workdir)
    assert sorted(ours) == list(range(21, 31))  # ends mid-epoch, at cooldown_at + steps
    assert summary["step"] == 30
    # Steps 21 and 22 run on the restored parameters, optimizer state and batches with the
    # stable learning rate (the cooldown starts at the value of step 20): equal to the bit.
    for step in (21, 22):
        assert ours[step]["loss"] == theirs[step]["loss"]
        assert ours[step]["accuracy"] == theirs[step]["accuracy"]
    assert ours[21]["lr"] == theirs[21]["lr"] == pytest.approx(0.1)
    # Then the rate decays as jaxsched.cooldown says, and the batches stay the stable run's.
    stable_schedule = jaxsched.warmup_constant(0.0, 0.1, warmup_steps=4)
    expected = jaxsched.cooldown(stable_schedule, 20, 10, shape="1-sqrt")
    lrs = np.array([ours[s]["lr"] for s in range(21, 31)])
    np.testing.assert_allclose(lrs, expected(np.arange(20, 30)), rtol=1e-5)
    assert np.all(np.diff(lrs) < 0)
    assert ours[23]["loss"] != theirs[23]["loss"]

    record = _record(branch.workdir)
    assert record["branched_from"] == {
        "workdir": os.path.abspath(config.workdir),
        "step": 20,
        "decay_steps": 10,
        "shape": "1-sqrt",
    }
    assert record["schedule"] == expected.to_config()
    # What the stable run's checkpoints carry: the same record, with the stable schedule.
    stable_record = cooldown.stable_record(record)
    assert stable_record["schedule"] == stable_schedule.to_config()
    assert stable_record == _record(config.workdir)
    assert _stable_steps(config) == [20, 48]  # reading a branch point deletes nothing


def test_branch_ending_at_an_epoch_equals_the_warmup_stable_decay_run_of_that_length(
    stable, tmp_path
):
    config, dataset = stable
    branch = train.train_and_evaluate(
        _branch(config, tmp_path / "branch", cooldown_steps=12), dataset
    )
    wsd_args = {"init_value": 0.0, "warmup_steps": 4, "decay_steps": 12, "decay_shape": "1-sqrt"}
    wsd = dataclasses.replace(
        config,
        workdir=str(tmp_path / "wsd"),
        epochs=2,
        schedule="warmup_stable_decay",
        schedule_args=json.dumps(wsd_args),
        keep_checkpoint_steps=(),
    )
    separate = train.train_and_evaluate(wsd, dataset)
    assert branch["step"] == separate["step"] == 32
    for ours, theirs in zip(
        jax.tree.leaves(branch["state"]["model"]),
        jax.tree.leaves(separate["state"]["model"]),
        strict=True,
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert branch["test_accuracy"] == pytest.approx(separate["test_accuracy"], abs=1 / 64)


def test_branch_of_a_missing_run_or_step_or_other_flags_is_refused_in_one_line(
    stable, tmp_path, capsys
):
    config, dataset = stable
    cases = [
        (dict(cooldown_from=str(tmp_path / "nowhere")), "holds no checkpoints/ folder"),
        (dict(cooldown_at=7), "has no checkpoint at step 7 \\(it has 20, 48\\)"),
        (dict(learning_rate=0.2), "--learning-rate 0.1 there, 0.2 here"),
        (dict(model="linear"), "--model 'mlp' there, 'linear' here"),
        (dict(workdir=config.workdir), "is the stable run's own"),
    ]
    # One compiled trainer serves every case: the checks read its config and record only.
    trainer = train.setup(_branch(config, tmp_path / "branch"), dataset)
    for overrides, message in cases:
        branch = dataclasses.replace(trainer, config=_branch(config, tmp_path / "b", **overrides))
        checkpoints = checkpoint.Checkpoints(str(tmp_path / "b" / "checkpoints"), keep=1)
        with pytest.raises(checkpoint.CheckpointError, match=message):
            train.create_state(branch, checkpoints)
        checkpoints.close()
    assert not os.path.exists(tmp_path / "nowhere")

    argv = [
        "--data-dir", config.data_dir, "--workdir", str(tmp_path / "cli"), "--model", "mlp",
        "--cooldown-from", config.workdir, "--cooldown-at", "8", "--cooldown-steps", "4",
        "--batch-size", "16", "--no-progress", "--no-plot",
    ]  # fmt: skip
    assert main.main(argv) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    assert "no checkpoint at step 8" in error


def test_cooldown_flags_without_a_stable_run_or_length_are_rejected():
    with pytest.raises(ValueError, match="need --cooldown-from"):
        configs.Config(cooldown_at=20, cooldown_steps=10)
    with pytest.raises(ValueError, match="needs --cooldown-at STEP"):
        configs.Config(cooldown_from="runs/stable", cooldown_steps=10)
    with pytest.raises(ValueError, match="--cooldown-shape must be one of"):
        configs.Config(cooldown_shape="sqrt")
    with pytest.raises(ValueError, match="--keep-checkpoint-steps"):
        configs.Config(keep_checkpoint_steps=(0,))


def test_a_branch_takes_the_stable_runs_flags_and_a_resume_its_own(stable, capsys):
    config, _ = stable
    flags = ["--cooldown-from", config.workdir, "--cooldown-at", "20", "--cooldown-steps", "10"]
    assert main.main(flags) == 0
    took, *_ = capsys.readouterr().out.splitlines()
    branch_dir = f"{config.workdir}-cooldown-20-10"
    assert took == (
        f"took --data-dir {config.data_dir} --model mlp --epochs 3 --batch-size 16 --schedule "
        f"warmup_constant --schedule-args '{config.schedule_args}' --workdir {branch_dir} "
        f"from {config.workdir}/config.json"
    )
    assert _record(branch_dir)["branched_from"]["step"] == 20
    # The branch's own config.json holds what it took; --resume takes all of it back.
    assert main.main(["--workdir", branch_dir, "--resume", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert f"--cooldown-from {config.workdir} --cooldown-at 20 --cooldown-steps 10" in out
    assert "resuming from the checkpoint at step 30" in out


def test_a_runs_config_json_starts_the_same_run_with_flags_over_it(stable):
    config, _ = stable
    path = os.path.join(config.workdir, configs.CONFIG_FILE)
    loaded, given = main.parse(["--config", path])
    assert loaded == config and "resume" not in given and "model" in given
    assert main.parse(["--config", path, "--seed", "3"])[0] == dataclasses.replace(config, seed=3)
