"""The PyTorch peer: the trainer's CNN (or the linear model) and SGD-momentum update in
PyTorch, served from its own process.

    python -m benchmarks.torch_peer --batch-size 128 [--compile] [--device cuda]

The worker prints one JSON line (its threads, and the seconds its first step took when it is
`torch.compile`d), then reads a step count a line and answers the seconds those steps took;
`TorchWorker` starts one and is a side of `benchmarks.timing`. torch is never a dependency of
jaxsched: without it `version()` is None and the benchmarks skip this peer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks import cli
from examples import flags
from examples.mnist import cpu_tuning

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def version() -> str | None:
    """torch's version, or None where it is not installed (read without importing it)."""
    return cli.package_version("torch")


@dataclasses.dataclass(frozen=True)
class TorchSide:
    """Which PyTorch step a worker serves; each field is a flag of the worker.

    Attributes:
      tiny: the linear model instead of the CNN.
      batch_size: images per update.
      keep_freed_memory: glibc keeps freed memory, as in the tuned JAX process.
      device: a torch device ("cpu", "cuda").
      compile: `torch.compile` the model (its first step, which compiles, is timed apart).
      profile: instead of serving timings, run this many steps under `torch.profiler` after a
        warm-up and print its table of operators (inductor's kernels named).
    """

    tiny: bool = False
    batch_size: int = 128
    keep_freed_memory: bool = False
    device: str = "cpu"
    compile: bool = False
    profile: int = 0

    def flags(self) -> list[str]:
        return shlex.split(flags.render(dataclasses.asdict(self)))


def _model(torch: Any, tiny: bool) -> Any:
    nn = torch.nn  # the example CNN (or the linear model), NCHW as PyTorch lays images out
    if tiny:
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    return nn.Sequential(
        *(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)),
        *(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)),
        *(nn.Flatten(), nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, 10)),
    )


def serve(side: TorchSide) -> None:
    """The worker: a JSON line (threads, compile seconds), then the seconds of each step
    count read from stdin."""
    # torch is optional and the JAX process must not load it: imported here, in the worker
    # only (measured: `import torch` takes 2.0 s and 216 MB of resident memory here).
    import torch

    model = _model(torch, side.tiny).to(side.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    shape = (side.batch_size, 1, 28, 28)
    images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (side.batch_size,), generator=generator)
    images, labels = images.to(side.device), labels.to(side.device)
    forward = torch.compile(model) if side.compile else model

    def steps(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(forward(images.float() / 255.0), labels)
            loss.backward()
            optimizer.step()
        if side.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    if side.profile:
        torch._inductor.config.cpp.enable_kernel_profile = True  # its kernels by name
    compile_seconds = steps(1) if side.compile else None  # torch.compile compiles now
    header = {"threads": torch.get_num_threads(), "compile_seconds": compile_seconds}
    print(json.dumps(header), flush=True)
    if not side.profile:
        for line in sys.stdin:
            print(steps(int(line)), flush=True)
        return
    steps(10)  # then milliseconds a step of every operator, under the profiler
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, record_shapes=True) as profiler:
        seconds = steps(side.profile)
    print(f"{seconds / side.profile * 1e3:.2f} ms a step under the profiler")
    averages = profiler.key_averages(group_by_input_shape=True)
    widths = {"max_name_column_width": 60, "max_shapes_column_width": 70}
    print(averages.table(sort_by="self_cpu_time_total", row_limit=40, **widths))


class TorchWorker:
    """A PyTorch step in a subprocess (`serve`); `time_steps` is a `benchmarks.timing` side.

    Args:
      side: which step.
      timeout: seconds to wait for any answer of the worker (its start, torch.compile, a
        timing) before killing it and raising TimeoutError; None waits for ever.
    """

    def __init__(self, side: TorchSide, timeout: float | None = None) -> None:
        self.timeout = timeout
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.torch_peer", *side.flags()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=_REPO,
        )
        header = json.loads(self._read())
        self.threads: int = header["threads"]
        self.compile_seconds: float | None = header["compile_seconds"]

    def _read(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        if not ready:
            self._stop()
            raise TimeoutError(f"the PyTorch worker did not answer in {self.timeout} s")
        line = self.process.stdout.readline()
        if not line:
            self._stop()
            raise RuntimeError("the PyTorch worker died; run it alone to see why")
        return line

    def _stop(self) -> None:
        self.process.kill()
        self.process.communicate()  # reaps it and closes the pipes

    def time_steps(self, steps: int) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        return float(self._read())

    def close(self) -> None:
        if self.process.poll() is not None:  # stopped already
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)
        assert self.process.stdout is not None
        self.process.stdout.close()


def main(argv: Sequence[str] | None = None) -> int:
    side, _ = cli.parse(TorchSide, argv, "benchmarks.torch_peer", __doc__)
    if side.keep_freed_memory:  # before torch's first step starts its threads
        cpu_tuning.keep_freed_memory()
    serve(side)
    return 0


if __name__ == "__main__":
    sys.exit(main())
