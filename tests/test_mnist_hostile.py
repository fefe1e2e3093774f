"""Faults and hostile input, round 3 (issues 24, 25), in the trainer and the CLIs: nothing is
written outside the work dir, nothing intact is lost or set aside, nothing fails only at the
end of a run, no flag asks for unbounded memory, and each case is one line."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import importlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import jax
import pytest

from examples import flags
from examples.mnist import checkpoint, configs, core, data, main, report, train, workdir
from tests import helpers_trainer
from tests.helpers_trainer import run_config
from tests.mnist_helpers import (
    REPO,
    copy_run,
    free_port,
    run_cli,
)

# The fixtures this module shares with the other fault tests.
data_dir, finished = helpers_trainer.data_dir, helpers_trainer.finished


class BlockedError(Exception):
    """Not an OSError (as TimeoutError is), which the code under test would catch."""


@contextlib.contextmanager
def _at_most(seconds: int):
    """Raises BlockedError in the block after `seconds` (a FIFO opened for reading blocks until a
    writer comes)."""

    def expire(signum, frame):
        raise BlockedError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _parse_error(argv: list[str], capsys, parse: Callable[[list[str]], Any] = main.parse) -> str:
    """The one-line error with which `parse` (the trainer's) refuses `argv`, exiting with 2."""
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) <= 2 and "Traceback" not in lines[-1], lines  # usage, then the error
    return lines[-1]


# Symbolic links: nothing written outside the work dir ------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "trainer.lock",
        "metrics.jsonl",
        "config.json",
        "config.json.tmp",
        "curves.png",
        "checkpoints",
    ],
)
def test_a_symlink_where_the_trainer_writes_is_refused_and_its_target_untouched(
    tmp_path, data_dir, name
):
    config = run_config(tmp_path, data_dir, plot=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    target = outside if name == "checkpoints" else outside / "precious"
    os.makedirs(config.workdir)
    os.symlink(target, os.path.join(config.workdir, name))
    with pytest.raises(workdir.WorkdirError, match=rf"{re.escape(name)} is a symbolic link"):
        train.train_and_evaluate(config)
    assert os.listdir(outside) == ["precious"]
    assert (outside / "precious").read_text() == "keep me"


def test_a_symlinked_checkpoint_step_is_refused_on_resume(tmp_path, finished):
    config = copy_run(finished[0], tmp_path)
    outside = tmp_path / "outside"
    os.replace(os.path.join(config.workdir, "checkpoints", "8"), outside)
    os.symlink(outside, os.path.join(config.workdir, "checkpoints", "8"))
    before = sorted(os.listdir(outside))
    with pytest.raises(workdir.WorkdirError, match=r"checkpoints/8 is a symbolic link"):
        train.train_and_evaluate(config)
    assert sorted(os.listdir(outside)) == before


# Damaged metrics.jsonl on --resume: every intact record kept -----------------------------------


_STEP = {"kind": "step", "step": 1, "epoch": 1, "loss": 2.0, "accuracy": 0.1, "lr": 0.1}


@pytest.mark.parametrize(
    "damage",
    ["{not json", "[1, 2]", '{"kind": "step"}', '{"kind": "step", "step": "3"}', "[" * 100_000],
)
def test_resume_keeps_every_intact_metrics_record_and_sets_damaged_lines_aside(
    tmp_path, damage, capsys
):
    path = str(tmp_path / "metrics.jsonl")
    records = [{**_STEP, "step": step} for step in range(1, 7)]
    lines = [json.dumps(r) for r in records]
    lines.insert(2, damage)  # line 3
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    log = report.MetricsLog(path, keep_until_step=5)
    assert log.records == records[:5]
    with open(path) as f:
        assert [json.loads(line) for line in f] == records[:5]
    with open(path + ".damaged") as f:
        assert f.read() == f"line 3: {damage}\n"
    assert re.match(r"warning: .* has 1 damaged line \(3\); kept every", capsys.readouterr().err)


def test_resume_drops_a_last_line_cut_by_a_kill_in_silence(tmp_path, capsys):
    path = str(tmp_path / "metrics.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(_STEP) + "\n" + json.dumps({**_STEP, "step": 2})[:20])
    assert report.MetricsLog(path, keep_until_step=5).records == [_STEP]
    assert not os.path.exists(path + ".damaged")
    assert capsys.readouterr().err == ""


def test_resume_after_a_damaged_metrics_line_ends_with_every_record(tmp_path, finished):
    config = copy_run(finished[0], tmp_path)
    path = os.path.join(config.workdir, "metrics.jsonl")
    with open(path) as f:
        lines = f.read().splitlines()
    with open(path, "w") as f:
        f.write("\n".join([*lines[:2], "\x00garbage", *lines[2:]]) + "\n")
    train.train_and_evaluate(config)
    with open(path) as f:
        assert f.read().splitlines() == lines


# Unreadable is not corrupt: nothing set aside ---------------------------------------------------


@pytest.mark.parametrize(
    ("file", "code"),
    [("checksums.json", errno.EACCES), ("d/", errno.EACCES), ("d/", errno.EIO)],
)
def test_an_unreadable_checkpoint_stops_in_one_line_and_moves_nothing(
    tmp_path, finished, monkeypatch, file, code
):
    config = copy_run(finished[0], tmp_path)
    real_open = open

    def refusing_open(path, *args, **kwargs):
        if f"{os.sep}8{os.sep}" in str(path) and file in str(path):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "open", refusing_open, raising=False)
    directory = os.path.join(config.workdir, "checkpoints")
    with pytest.raises(checkpoint.CheckpointError, match=r"cannot read the checkpoint at step 8"):
        train.train_and_evaluate(config)
    assert sorted(os.listdir(directory)) == ["6", "8"]
    assert not os.path.exists(directory + ".corrupt")


# A full disk mid-checkpoint: one line, the newest intact checkpoint resumable -------------------

_FILE_SIZE_LIMIT = """
import resource, signal, sys
from examples.mnist import main, train
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
saves = []
def save(*args):
    saves.append(args)
    if len(saves) == {after}:  # the first saves fit; arrays past 100 kB no longer do
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
    return save_for_real(*args)
save_for_real, train.save = train.save, save
sys.exit(main.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("after", [1, 2])
def test_a_checkpoint_write_past_the_file_size_limit_ends_in_one_line_and_resumes(
    tmp_path, data_dir, after
):
    config = run_config(tmp_path, data_dir, checkpoint_every_steps=2)
    argv = flags.render(
        {k: v for k, v in flags.as_flags(config).items() if v != getattr(configs.Config(), k)}
    )
    process = subprocess.run(
        [sys.executable, "-c", _FILE_SIZE_LIMIT.replace("{after}", str(after)), *shlex.split(argv)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 1, process.stderr
    # tensorstore's callbacks may print "Event loop is closed" tracebacks from their threads
    # around our line, even into it (print writes the text and its newline apart).
    errors = re.findall(r"(?<![A-Za-z])error: .*", process.stderr)
    assert len(errors) == 1, process.stderr
    assert errors[0].startswith(f"error: writing the checkpoint at step {2 * after} "), errors
    directory = os.path.join(config.workdir, "checkpoints")
    assert os.listdir(directory) == ([] if after == 1 else ["2"])
    resumed = train.train_and_evaluate(dataclasses.replace(config, resume=after > 1))
    assert resumed["step"] == 8


# Nothing fails only at the end: the work dir is probed before the first update ------------------


def _long_workdir(tmp_path) -> str:
    """A work dir of exactly 4,000 characters, wherever `tmp_path` is: one the system lets
    the trainer create (PATH_MAX is 4,096), while the files the run writes in it are too long."""
    path = str(tmp_path)
    while len(path) < 4_000 - 201:
        path = os.path.join(path, "d" * 200)
    return os.path.join(path, "d" * (4_000 - len(path) - 1))


@pytest.mark.parametrize("kind", ["long", "not utf-8", "curves.png a folder", "metrics a folder"])
def test_a_work_dir_the_run_cannot_finish_in_is_refused_before_training(tmp_path, data_dir, kind):
    config = run_config(tmp_path, data_dir, plot=True)
    if kind == "long":
        config = dataclasses.replace(config, workdir=_long_workdir(tmp_path))
    elif kind == "not utf-8":
        config = dataclasses.replace(config, workdir=os.fsdecode(os.fsencode(tmp_path) + b"/r\xff"))
    else:
        os.makedirs(
            os.path.join(config.workdir, kind.split()[0].replace("metrics", "metrics.jsonl"))
        )
    with pytest.raises(workdir.WorkdirError, match=r"UTF-8|cannot write .*nothing trained"):
        train.train_and_evaluate(config)
    checkpoints = os.path.join(config.workdir, "checkpoints")
    assert not os.path.exists(checkpoints) or os.listdir(checkpoints) == []
    if kind != "metrics a folder":
        assert not os.path.exists(os.path.join(config.workdir, "metrics.jsonl"))


# No flag asks for unbounded memory -------------------------------------------------------------


@pytest.mark.parametrize("eval_batch_size", [10**6, 129, 4096])
def test_the_eval_batch_is_at_most_the_test_set(tmp_path, data_dir, eval_batch_size):
    config = run_config(tmp_path, data_dir, eval_batch_size=eval_batch_size)
    trainer = train.setup(config, train.load_data(config))
    assert trainer.data.eval_batch_size == 128


@pytest.mark.parametrize(("validation", "expected"), [(0, 128), (300, 300)])
def test_the_studies_eval_chunk_is_at_most_the_larger_split(data_dir, validation, expected):
    dataset = data.load("mnist", data_dir)
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    put = core.put_data(dataset, device, eval_batch_size=10**6, validation_examples=validation)
    assert put.eval_batch_size == expected
    assert put.test_images.shape[0] == expected


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("[" * 100_000 + "]" * 100_000, "MAX_JSON_DEPTH"),
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", "MAX_JSON_DEPTH"),
    ],
)
def test_deeply_nested_schedule_args_are_refused_naming_the_limit(text, limit, capsys):
    line = _parse_error(["--schedule-args", text], capsys)
    assert re.search(rf"--schedule-args nests more than 32 levels .*{limit}", line), line


@pytest.mark.parametrize(
    "content", ["[" * 100_000, '{"epochs": 1, "x": "' + "y" * 2**21 + '"}', "fifo"]
)
def test_a_config_file_deep_huge_or_a_fifo_is_refused_in_one_line(tmp_path, content, capsys):
    path = str(tmp_path / "config.json")
    if content == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "w") as f:
            f.write(content)
    with _at_most(5):
        line = _parse_error(["--config", path], capsys)
    assert re.search(r"MAX_JSON_DEPTH|MAX_JSON_BYTES|not a regular file", line), line


# FIFOs, symlink loops and dangling links as data files -----------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "loop", "dangling"])
def test_a_data_file_that_is_no_file_gives_one_line_without_blocking(tmp_path, data_dir, kind):
    folder = tmp_path / "data"
    shutil.copytree(data_dir, folder)
    path = str(folder / "t10k-labels-idx1-ubyte.gz")
    os.remove(path)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        os.symlink(path, path)
    else:
        os.symlink(str(folder / "gone"), path)
    with _at_most(5), pytest.raises(data.DataError, match=r"t10k-labels-idx1-ubyte.gz"):
        data.load("mnist", str(folder))


# Flags that clash or overflow, bad numbers, distributed flags: one line at parse time ----------


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--schedule-args", '{"run_steps": 5}'], "--schedule-args sets run_steps"),
        (["--schedule-args", '{"steps_per_epoch": 5}'], "--schedule-args sets steps_per_epoch"),
        (["--epochs", "99999999999"], "--epochs must be at most"),
        (["--checkpoint-every-steps", "3000000000"], "--checkpoint-every-steps must be at most"),
        (["--keep-checkpoint-steps", "5,99999999999"], "--keep-checkpoint-steps must be at most"),
        (["--num-processes", "2"], "--num-processes need --distributed"),
        (["--coordinator-address", "h:1"], "--coordinator-address need --distributed"),
        (["--distributed", "--coordinator-address", "host:abc"], "--coordinator-address must"),
        (["--distributed", "--coordinator-address", "host:70000"], "--coordinator-address must"),
        (["--distributed", "--coordinator-address", ":1234"], "--coordinator-address must"),
        (["--distributed", "--coordinator-address", "host"], "--coordinator-address must"),
        (["--distributed", "--num-processes", "2", "--process-id", "2"], "--process-id must"),
        (["--distributed", "--process-id=-1"], "--process-id must"),
        (["--distributed", "--process-id", "1"], "--process-id needs --num-processes"),
        (["--distributed", "--distributed-timeout", "0"], "--distributed-timeout must"),
    ],
)
def test_clashing_overflowing_and_distributed_flags_give_one_line(argv, named, capsys):
    line = _parse_error(argv, capsys)
    assert f"error: {named}" in line, line


@pytest.mark.parametrize(
    "schedule_args", ['{"peak_value": 1e400}', '{"total_steps": 1e400}', '{"pct_start": 1e400}']
)
def test_overflowing_schedule_arguments_give_one_training_error(schedule_args):
    with pytest.raises(train.TrainingError, match=r"--schedule one_cycle --schedule-args"):
        train.build_schedule("one_cycle", json.loads(schedule_args), 0.1, 100)


def _study_parse(module: str, config_type: str) -> Callable[[list[str]], Any]:
    """`flags.parse` of `module`'s `config_type`."""
    config_class = getattr(importlib.import_module(module), config_type)
    return functools.partial(flags.parse, config_class, prog=module, description="")


@pytest.mark.parametrize(
    ("module", "config_type", "argv", "named"),
    [
        ("examples.mnist.cooldown_study", "CooldownStudyConfig", ["--batch-size", "0"], "--batch"),
        ("examples.mnist.cooldown_study", "CooldownStudyConfig", ["--learning-rate", "inf"], "--l"),
        ("examples.mnist.cooldown_study", "CooldownStudyConfig", ["--train-examples=-5"], "--t"),
        ("examples.compare.time_to_accuracy", "TimeConfig", ["--learning-rate", "nan"], "--l"),
        ("examples.compare.time_to_accuracy", "TimeConfig", ["--target", "inf"], "--target"),
        ("benchmarks.accelerator.suite", "SuiteConfig", ["--batch-sizes", "0,128"], "--batch"),
        ("benchmarks.accelerator.suite", "SuiteConfig", ["--train-examples=-5"], "--train"),
        ("benchmarks.accelerator.suite", "SuiteConfig", ["--ks", "1,-2"], "--ks"),
        ("benchmarks.accelerator.suite", "SuiteConfig", ["--target", "nan"], "--target"),
        ("examples.mnist.cooldown_study", "CooldownStudyConfig", ["--lengths-epochs=3,0"], "--l"),
    ],
)
def test_the_studies_and_the_suite_refuse_bad_numbers_at_parse_time(
    module, config_type, argv, named, capsys
):
    line = _parse_error(argv, capsys, _study_parse(module, config_type))
    assert re.search(rf"error: {named}\S* must be", line), line


@pytest.mark.parametrize(
    ("module", "config_type", "flag"),
    [
        ("benchmarks.accelerator.suite", "SuiteConfig", "--parts"),
        ("benchmarks.step_profile", "ProfileConfig", "--variants"),
        ("examples.compare.study", "StudyConfig", "--adam-recipes"),
    ],
)
def test_a_list_flag_with_an_unknown_element_is_refused_naming_it(
    module, config_type, flag, capsys
):
    line = _parse_error([flag, "nope"], capsys, _study_parse(module, config_type))
    assert re.search(rf"error: {flag} must be one of .*; got 'nope'$", line), line


def test_a_coordinator_that_never_answers_ends_in_one_line_within_the_timeout(tmp_path):
    port = free_port()  # nobody listens on it
    result = run_cli(
        "--distributed",
        f"--coordinator-address=127.0.0.1:{port}",
        "--num-processes=2",
        "--process-id=1",
        "--distributed-timeout=2",
        f"--workdir={tmp_path / 'run'}",
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: --distributed: no coordinator answered at 127.0.0.1:{port} within "
        "--distributed-timeout 2 s (Connection refused); start process 0 there first, or "
        "check --coordinator-address"
    ]


# Messages that say what happened ---------------------------------------------------------------


def test_a_non_finite_checkpoint_with_matching_checksums_is_set_aside_for_an_older_one(
    tmp_path, finished, capsys
):
    config = copy_run(finished[0], tmp_path)
    checkpoints = checkpoint.Checkpoints(os.path.join(config.workdir, "checkpoints"), keep=3)
    trainer = train.setup(config, train.load_data(config))
    like = train._saved(trainer, train.create_state(trainer))
    state = checkpoints.restore(8, like)
    state["run"] = jax.tree.map(lambda x: x * float("inf"), state["run"])
    checkpoints.delete(8)
    checkpoints.save(8, state, trainer.record())  # new checksums that match the inf arrays
    checkpoints.close()
    resumed = train.train_and_evaluate(config)
    assert resumed["step"] == 8
    err = capsys.readouterr().err
    assert "step 8 is corrupt (it holds non-finite numbers, which the trainer never" in err
    assert "learning-rate" not in err


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        ({"format": 1}, r"written in format 1; this trainer reads format 2 only"),
        ({}, r"written by the Linen trainer \(no format in its record\)"),
    ],
)
def test_a_record_of_another_format_says_which(tmp_path, monkeypatch, saved, expected):
    checkpoints = checkpoint.Checkpoints(str(tmp_path / "checkpoints"), keep=1)
    monkeypatch.setattr(checkpoints, "verify", lambda step: None)
    monkeypatch.setattr(checkpoints, "read_record", lambda step: saved)
    with pytest.raises(checkpoint.CheckpointError, match=expected):
        checkpoints.restore_checked(3, {"format": 2}, {})


@pytest.mark.parametrize(
    ("there", "named"),
    [
        ({"schedule": {"name": "one_cycle", "total_steps": 9}}, "record.schedule.total_steps 9"),
        ({"steps_per_epoch": 7}, "its record.steps_per_epoch 7 there, 8 here"),
        ({"branched_from": {"step": 3}}, "its record.branched_from {'step': 3} there, None here"),
    ],
)
def test_a_record_mismatch_names_the_field_that_differs(there, named):
    here = {"config": {"seed": 0}, "schedule": {"name": "one_cycle", "total_steps": 8}}
    here["steps_per_epoch"] = 8
    assert named in checkpoint.differences({**here, **there}, here)


# A branch point with a cut record or metadata ----------------------------------------------------


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        ("record/metadata", r"step 6 .* is corrupt \(its run record cannot be read"),
        ("config.json", r"config.json"),
    ],
)
def test_a_branch_off_a_cut_record_gives_one_line(tmp_path, finished, cut, expected):
    stable = copy_run(finished[0], tmp_path).workdir
    step_dir = os.path.join(stable, "checkpoints", "6")
    path = os.path.join(stable if cut == "config.json" else step_dir, cut)
    with open(path, "r+") as f:
        f.truncate(20)
    os.remove(os.path.join(step_dir, "checksums.json"))  # as an older trainer's checkpoint
    argv = ["--cooldown-from", stable, "--cooldown-at", "6", "--cooldown-steps", "2"]
    result = run_cli(*argv, "--no-progress", "--no-plot", timeout=120)
    assert result.returncode == 1
    assert re.match(rf"error: .*{expected}", result.stderr.strip().splitlines()[-1])
    assert "Traceback" not in result.stderr
