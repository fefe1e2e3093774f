"""`python -m benchmarks.accelerator --out DIR`: the suite (`suite.py`), the only place that
sets up the process."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from benchmarks import cli
from benchmarks.accelerator import suite, tables
from examples.mnist import cpu_tuning, data


def _holds_idx_files(folder: str) -> bool:
    """Whether `folder` holds the IDX files; a folder that is missing or unreadable does not."""
    try:
        return data.is_idx_folder(folder)
    except data.DataError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the suite; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    module, doc = "benchmarks.accelerator", suite.__doc__
    config, _ = cli.parse(suite.SuiteConfig, argv, module, doc, presets=suite.PRESETS)
    if "accuracy" in config.parts and not _holds_idx_files(config.mnist_dir):
        print(
            f"error: {config.mnist_dir} holds no MNIST IDX files; prepare them with "
            "python -m benchmarks.accelerator.prepare, or pass --mnist-dir",
            file=sys.stderr,
        )
        return 1
    # Before JAX starts its backends: the CPU tuning's glibc setting, and on a GPU no
    # preallocation, so that the PyTorch process has memory and the peak figures mean what
    # the programs used.
    cpu_tuning.keep_freed_memory()
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    results = suite.Results(config.out, suite.environment(argv))
    print(
        f"{results.data['device_count']} x {results.data['device_kind']}, JAX "
        f"{results.data['jax']}; writing {config.out}/results.json and table.md",
        flush=True,
    )
    ok = suite.run_parts(config, results)
    print(tables.render(results.data))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
