"""What the trainer writes and shows: metrics.jsonl, the progress bar, the epoch lines.

Plain Python on numbers the trainer has already fetched from the devices: no JAX here.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

from tqdm import tqdm

from examples import flags


def count(number: int, noun: str) -> str:
    """`number` and `noun`, plural unless it is 1: "1 epoch", "3 epochs"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


class MetricsLog:
    """metrics.jsonl: one JSON object per update ("kind": "step") and per epoch ("epoch").

    Opened with `keep_until_step` (on resume), it is rewritten (through a renamed temporary
    file) with the records up to that step; a damaged line goes to `<path>.damaged` with its
    number, a last line cut short by a kill is dropped. None starts afresh.
    """

    def __init__(self, path: str, keep_until_step: int | None, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self.records: list[dict[str, Any]] = []
        damaged: dict[int, str] = {}
        if keep_until_step is not None and os.path.exists(path):
            with open(path, errors="replace") as f:
                text = f.read()
            lines = text.splitlines()
            for number, line in enumerate(lines, 1):
                record = _record(line)
                cut = number == len(lines) and not text.endswith("\n")  # a kill mid-write
                if record is None and not cut:
                    damaged[number] = line
                elif record is not None and record["step"] <= keep_until_step:
                    self.records.append(record)
        if enabled:
            if damaged:
                with open(path + ".damaged", "a") as f:
                    f.writelines(f"line {n}: {line}\n" for n, line in damaged.items())
                numbers = ", ".join(map(str, damaged))
                print(
                    f"warning: {path} has {count(len(damaged), 'damaged line')} ({numbers}); "
                    f"kept every intact record and moved those lines to {path}.damaged",
                    file=sys.stderr,
                    flush=True,
                )
            flags.write_whole(path, "".join(json.dumps(r) + "\n" for r in self.records))

    def write(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)
        if self.enabled:
            with open(self.path, "a") as f:
                f.writelines(json.dumps(r) + "\n" for r in records)

    def steps_of_epoch(self, epoch: int) -> list[dict[str, Any]]:
        """The step records of `epoch` (counting from 1) logged so far."""
        return [r for r in self.records if r["kind"] == "step" and r["epoch"] == epoch]


def _record(line: str) -> dict[str, Any] | None:
    """The metrics record on `line`, or None if it is not one."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        return None
    kinds = {"step": ("loss", "lr"), "epoch": ("epoch", "test_accuracy")}
    if (
        not isinstance(record, dict)
        or record.get("kind") not in kinds
        or type(record.get("step")) is not int
        or any(key not in record for key in kinds[record["kind"]])
    ):
        return None
    return record


def step_records(
    steps: list[int], values: list[dict[str, Any]], epoch: int
) -> tuple[list[dict[str, Any]], int | None]:
    """The metrics.jsonl records of fetched step metrics up to the first non-finite loss, and
    that update's step (None if there is none)."""
    records: list[dict[str, Any]] = []
    for step, metrics in zip(steps, values, strict=True):
        loss = float(metrics["loss"])
        if not math.isfinite(loss):
            return records, step
        accuracy, lr = float(metrics["accuracy"]), float(metrics["lr"])
        records.append(
            dict(kind="step", step=step, epoch=epoch, loss=loss, accuracy=accuracy, lr=lr)
        )
    return records, None


def epoch_record(
    epoch: int,
    step: int,
    step_records: list[dict[str, Any]],
    test: dict[str, float],
    seconds: float,
    images: int,
) -> dict[str, Any]:
    """The metrics.jsonl record of a finished epoch."""
    n = max(1, len(step_records))
    return {
        "kind": "epoch",
        "epoch": epoch,
        "step": step,
        "train_loss": sum(r["loss"] for r in step_records) / n,
        "train_accuracy": sum(r["accuracy"] for r in step_records) / n,
        **test,
        "seconds": seconds,
        "images_per_s": images / seconds,
    }


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    return (
        f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}, test loss "
        f"{record['test_loss']:.4f}, test accuracy {record['test_accuracy']:.4f} "
        f"({record['images_per_s']:.0f} images/s)"
    )


class Progress:
    """A tqdm bar over an epoch's images, showing the latest loss and learning rate; silent
    when disabled."""

    def __init__(self, enabled: bool, epoch: int, epochs: int, total: int, done: int) -> None:
        desc = f"epoch {epoch}/{epochs}"  # tqdm writes to sys.stderr
        options = dict(total=total, initial=done, desc=desc, unit="img", unit_scale=True)
        self._bar = tqdm(**options, leave=False) if enabled else None

    def advance(self, records: list[dict[str, Any]], images: int) -> None:
        if self._bar is not None and records:
            last = records[-1]
            self._bar.set_postfix(loss=f"{last['loss']:.4f}", lr=f"{last['lr']:.4g}", refresh=False)
            self._bar.update(images)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
