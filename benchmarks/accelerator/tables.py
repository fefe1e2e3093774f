"""The suite's results as markdown: one table per part, from whatever results.json holds."""

from __future__ import annotations

from typing import Any


def _number(value: Any, spec: str = ".0f", missing: str = "n/a") -> str:
    return missing if value is None else format(value, spec)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _step(part: dict[str, Any]) -> list[str]:
    lines = [
        f"## Update step ({part['model']}), medians of {part.get('repeats')} x "
        f"{part.get('steps')} steps",
        "",
        f"float32 {part.get('matmul_size')}x{part.get('matmul_size')} jitted matmul: "
        f"{_number(part.get('matmul_gflops'))} GFLOP/s.",
        "",
    ]
    rows = [
        [
            str(row["batch_size"]),
            _number(row["jax_images_per_s"]),
            _number(row["jax_compile_seconds"], ".1f"),
            _number(row.get("torch_eager_images_per_s")),
            _number(row.get("jax_over_torch_eager"), ".2f"),
            _number(row["step_gflop"], ".3f"),
            _number(row["step_gflops"]),
            _number(row["step_share_of_matmul"], ".0%"),
        ]
        for row in part["rows"]
    ]
    header = ["batch", "JAX images/s", "JAX compile s", "PyTorch eager images/s"]
    header += ["JAX / eager", "GFLOP a step (XLA)", "step GFLOP/s", "share of matmul"]
    errors = [
        f"PyTorch eager at batch {row['batch_size']} failed: {row['torch_eager_error']}"
        for row in part["rows"]
        if "torch_eager_error" in row
    ]
    return lines + _table(header, rows) + (["", *errors] if errors else [])


def _torch_compile(part: dict[str, Any]) -> list[str]:
    rows = [
        [
            str(row["batch_size"]),
            _number(row.get("images_per_s")),
            _number(row.get("compile_seconds"), ".1f"),
            row.get("error", ""),
        ]
        for row in part["rows"]
    ]
    title = f"## PyTorch `torch.compile` (each try limited to {part['limit_seconds']:.0f} s)"
    return [title, "", *_table(["batch", "images/s", "compile s", "error"], rows)]


def _sweep(part: dict[str, Any]) -> list[str]:
    rows = [
        [
            str(row["k"]),
            _number(row["group_seconds"], ".3f"),
            _number(row["sequential_seconds"], ".3f"),
            _number(row["speedup"], ".2f") + "x",
            _number(row["group_images_per_s"]),
            _number(row["group_compile_seconds"], ".1f"),
            _number(row["peak_memory_mb"]),
        ]
        for row in part["rows"]
    ]
    header = ["K", "group s", "one after another s", "speed-up", "group images/s"]
    header += ["group compile s", "peak device MB"]
    title = (
        f"## Vmapped sweep: K runs in one group vs one after another "
        f"({part['steps']} updates a run, medians of {part['repeats']})"
    )
    return [title, "", *_table(header, rows)]


def _accuracy(part: dict[str, Any]) -> list[str]:
    rows = [
        [
            row["recipe"],
            _number(row["seconds_to_target"], ".1f", "not reached"),
            _number(row["epochs_to_target"], ".2f", "-"),
            _number(row["best_accuracy"], ".2%"),
            _number(row["compile_seconds"], ".1f"),
        ]
        for row in part["rows"]
    ]
    header = ["recipe", "seconds to target", "epoch", "best test accuracy", "compile s"]
    title = (
        f"## Time to {part['target']:.0%} test accuracy on MNIST (budget {part['epochs']} "
        "epochs; compilation and evaluation excluded)"
    )
    return [title, "", *_table(header, rows)]


RENDERERS = {
    "sweep": _sweep,
    "step": _step,
    "accuracy": _accuracy,
    "torch_compile": _torch_compile,
}


def render(results: dict[str, Any]) -> str:
    """The markdown of `results` (results.json's contents, complete or not)."""
    lines = [
        f"# Accelerator suite: {results['device_count']} x {results['device_kind']}",
        "",
        f"JAX {results['jax']}, jaxlib {results['jaxlib']}, flax {results['flax']}, optax "
        f"{results['optax']}, torch {results['torch']}; {results['date']}; "
        f"{results.get('seconds', 0):.0f} s so far.",
        "",
        f"    {results['command']}",
    ]
    for name, renderer in RENDERERS.items():
        part = results.get(name)
        if part is None:
            continue
        lines.append("")
        lines += renderer(part) if "rows" in part else [f"## {name}", ""]
        if "error" in part:
            lines += ["", f"Part `{name}` failed: {part['error']}"]
    return "\n".join(lines) + "\n"
