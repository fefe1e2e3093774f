"""Faults and bad input in the trainer (issue 12): each gives one clear line, never a
traceback, and no checkpoint that cannot be resumed is kept or trusted."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import os
import re
import signal
import time
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from examples.mnist import checkpoint, configs, data, main, train, workdir
from tests import helpers_trainer
from tests.helpers_trainer import run_config
from tests.mnist_helpers import (
    cli,
    copy_run,
    idx_bytes,
    shared_compiles,
    write_idx_folder,
)

# The fixtures this module shares with the other fault tests.
data_dir, finished = helpers_trainer.data_dir, helpers_trainer.finished


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """JAX's persistent compilation cache, shared by this module's CLI runs of one shape."""
    return shared_compiles(tmp_path_factory.mktemp("compiled"))


def _steps(config: configs.Config) -> list[int]:
    directory = os.path.join(config.workdir, "checkpoints")
    return sorted(int(n) for n in os.listdir(directory) if n.isdigit())


# Flags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--momentum", "2"], "--momentum"),
        (["--momentum=-0.5"], "--momentum"),
        (["--momentum", "nan"], "--momentum"),
        (["--learning-rate", "0"], "--learning-rate"),
        (["--learning-rate=-0.1"], "--learning-rate"),
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--learning-rate", "inf"], "--learning-rate"),
        (["--learning-rate", "1e39"], "--learning-rate"),  # inf in float32
        (["--learning-rate", "1e-50"], "--learning-rate"),  # 0 in float32
        (["--seed", "99999999999999999999"], "--seed"),
        (["--weight-decay", "nan"], "--weight-decay"),
        (["--weight-decay=-1e-4"], "--weight-decay"),
    ],
)
def test_bad_numbers_give_one_error_line_naming_their_flag(flags, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main.parse(flags)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.match(rf"python -m examples.mnist.main: error: {named} must be", last), last


# Non-finite values and checkpoints ------------------------------------------------------------


def _trainer(config: configs.Config) -> train.Trainer:
    return train.setup(config, train.load_data(config))


def test_a_non_finite_state_is_never_written(tmp_path, data_dir):
    config = run_config(tmp_path, data_dir)
    trainer = _trainer(config)
    run = train.create_state(trainer)
    bad_state = jax.tree.map(lambda x: x * jnp.nan if x.dtype == jnp.float32 else x, run.state)
    checkpoints = checkpoint.Checkpoints(str(tmp_path / "checkpoints"), keep=2)
    with pytest.raises(train.TrainingError, match="non-finite by step 3; stopped without"):
        train.save(trainer, checkpoints, train.RunState(bad_state, 3, run.data_key))
    assert checkpoints.all_steps() == []


def test_the_checkpoint_whose_parameters_gave_a_nan_loss_is_removed(tmp_path, data_dir):
    config = run_config(
        tmp_path, data_dir, learning_rate=1e30, schedule="constant", checkpoint_every_steps=1
    )
    with pytest.raises(train.TrainingError, match=r"loss became nan at step (\d)") as error:
        train.train_and_evaluate(config)
    bad_step = int(re.search(r"at step (\d)", str(error.value)).group(1))
    assert all(step < bad_step - 1 for step in _steps(config))


def test_resume_sets_aside_a_checkpoint_with_non_finite_values(tmp_path, data_dir):
    config = run_config(tmp_path, data_dir)
    trainer = _trainer(config)
    run = train.create_state(trainer)
    state = train._saved(trainer, run)
    state["run"] = jax.tree.map(
        lambda x: jnp.full_like(x, jnp.inf) if x.dtype == jnp.float32 else x, state["run"]
    )
    checkpoints = checkpoint.Checkpoints(os.path.join(config.workdir, "checkpoints"), keep=2)
    checkpoints.save(0, state, trainer.record())  # bypasses train.save's check, as old runs did
    checkpoints.close()
    resumed = dataclasses.replace(config, resume=True)
    with pytest.raises(checkpoint.CheckpointError, match=r"no intact .*step 0: it holds non"):
        train.train_and_evaluate(resumed)


def _flip_byte_in_largest_array_file(step_dir: str) -> str:
    files = [os.path.join(f, n) for f, _, names in os.walk(step_dir) for n in names]
    largest = max((p for p in files if "/d/" in p), key=os.path.getsize)
    with open(largest, "r+b") as f:
        f.seek(os.path.getsize(largest) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    return largest


def _break_record(step_dir: str) -> str:
    path = os.path.join(step_dir, "record", "metadata")
    with open(path, "w") as f:
        f.write("{not json")
    for name in ("checksums.json",):  # as a checkpoint of a trainer without checksums
        os.remove(os.path.join(step_dir, name))
    return path


@pytest.mark.parametrize("corrupt", [_flip_byte_in_largest_array_file, _break_record])
def test_resume_sets_a_corrupt_checkpoint_aside_and_takes_the_one_before(
    tmp_path, finished, corrupt, capsys
):
    config = copy_run(finished[0], tmp_path)
    assert _steps(config) == [6, 8]
    corrupt(os.path.join(config.workdir, "checkpoints", "8"))
    capsys.readouterr()
    resumed = train.train_and_evaluate(config)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: the checkpoint at step 8 is corrupt"), err
    assert os.path.isdir(os.path.join(config.workdir, "checkpoints.corrupt", "8"))
    # Resumed from step 6, it redoes steps 7 and 8 to the same parameters.
    assert resumed["step"] == 8
    jax.tree.map(np.testing.assert_array_equal, resumed["state"], finished[1]["state"])


def test_resume_with_another_data_dir_is_refused_naming_the_flag(tmp_path, finished):
    config = copy_run(finished[0], tmp_path)
    other = write_idx_folder(str(tmp_path / "other"), num_train=512, num_test=128)
    with pytest.raises(checkpoint.CheckpointError, match=r"another run \(--data-dir '.*' there"):
        train.train_and_evaluate(dataclasses.replace(config, data_dir=other))


# The work dir ---------------------------------------------------------------------------------


def test_a_second_trainer_in_a_held_work_dir_stops_naming_the_holder(tmp_path, data_dir):
    config = run_config(tmp_path, data_dir)
    held = workdir.claim(config.workdir)  # flock conflicts between open files, even in a process
    try:
        with pytest.raises(
            workdir.WorkdirError, match=f"in use by another trainer \\(pid {os.getpid()} on host"
        ):
            train.train_and_evaluate(config)
    finally:
        held.release()
    train.train_and_evaluate(config)  # free again


def test_a_work_dir_that_is_a_file_gives_one_line(tmp_path, data_dir):
    path = tmp_path / "file"
    path.write_text("")
    with pytest.raises(workdir.WorkdirError, match="is a file, not a folder"):
        train.train_and_evaluate(run_config(tmp_path, data_dir, workdir=str(path)))


@pytest.mark.parametrize("blocker", ["checkpoints_is_a_file", "metrics_is_a_folder"])
def test_a_file_where_a_folder_goes_and_the_reverse_give_one_error_line(
    tmp_path, data_dir, blocker, capsys
):
    run = tmp_path / "run"
    run.mkdir()
    if blocker == "checkpoints_is_a_file":
        (run / "checkpoints").write_text("")
    else:
        (run / "metrics.jsonl").mkdir()
    flags = ["--data-dir", data_dir, "--workdir", str(run), "--model", "mlp", "--epochs", "1",
             "--batch-size", "64", "--no-progress", "--no-plot"]  # fmt: skip
    assert main.main(flags) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err


def test_a_work_dir_that_cannot_be_written_gives_one_line(tmp_path, data_dir, monkeypatch):
    # Root ignores permission bits, so the kernel's answer for a read-only folder is simulated.
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).startswith(str(tmp_path / "run")) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    os.makedirs(tmp_path / "run")
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(workdir.WorkdirError, match=r"cannot write to --workdir .*Permission"):
        train.train_and_evaluate(run_config(tmp_path, data_dir))


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_at_a_step_with_a_checkpoint_and_128_plus_the_signal(
    tmp_path, data_dir, compiled, signum, status
):
    run_dir = str(tmp_path / "run")
    flags = ["--data-dir", data_dir, "--workdir", run_dir, "--model", "mlp", "--epochs", "200",
             "--batch-size", "16", "--checkpoint-every-steps", "8", "--keep-checkpoints", "2",
             "--log-every-steps", "4", "--no-progress", "--no-plot"]  # fmt: skip
    process = cli(*flags, env=compiled)
    checkpoints_dir = os.path.join(run_dir, "checkpoints")
    deadline = time.monotonic() + 120
    while not (os.path.isdir(checkpoints_dir) and len(os.listdir(checkpoints_dir)) >= 2):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr
    match = re.fullmatch(r"interrupted \(SIG\w+\): stopped at step (\d+) and wrote its .*",
                         stderr.strip().splitlines()[-1])  # fmt: skip
    assert match, stderr
    steps = sorted(int(n) for n in os.listdir(checkpoints_dir) if n.isdigit())
    assert len(steps) <= 2 and steps[-1] == int(match.group(1))
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        assert json.loads(f.readlines()[-1])["step"] == steps[-1]


# Data ----------------------------------------------------------------------------------------


def test_a_gzip_bomb_is_stopped_before_it_is_inflated(tmp_path):
    path = str(tmp_path / "bomb-idx1-ubyte.gz")
    with gzip.open(path, "wb") as f:
        f.write(idx_bytes(np.zeros(10, np.uint8)))
        f.write(bytes(100 * 2**20))  # 100 MB of zeros after the 10 labels
    tracemalloc.start()
    try:
        with pytest.raises(data.DataError, match="is longer than the 18 bytes its header"):
            data.read_idx(path, ndim=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_a_header_claiming_more_than_any_dataset_is_refused_before_reading(tmp_path):
    path = str(tmp_path / "huge-idx3-ubyte")
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (10**6, 280, 280)))
    with pytest.raises(data.DataError, match="more than an MNIST-format dataset holds"):
        data.read_idx(path, ndim=3)


def test_a_split_without_images_is_refused_before_training(tmp_path):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=64, num_test=16)
    for stem, array in (("t10k-images-idx3-ubyte", np.zeros((0, 28, 28))),
                        ("t10k-labels-idx1-ubyte", np.zeros(0))):  # fmt: skip
        with gzip.open(os.path.join(folder, stem + ".gz"), "wb") as f:
            f.write(idx_bytes(array.astype(np.uint8)))
    with pytest.raises(data.DataError, match=r"the test split in .* has no images"):
        data.load("mnist", folder)


def test_an_unlistable_data_folder_is_not_reported_as_unprepared(tmp_path, monkeypatch):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=64, num_test=16)
    real_listdir = os.listdir

    def no_read_permission(path="."):  # what the kernel answers for a folder without r
        if os.path.realpath(path) == os.path.realpath(folder):
            raise PermissionError(13, "Permission denied", path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", no_read_permission)
    with pytest.raises(data.DataError, match=r"cannot read --data-dir .*\(Permission denied\)"):
        data.load("mnist", folder)


def test_swapped_train_and_test_files_are_warned_about(tmp_path):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=16, num_test=64)
    with pytest.warns(data.DataWarning, match="swapped"):
        dataset = data.load("mnist", folder)
    assert math.prod(dataset.test_images.shape[:1]) == 64
