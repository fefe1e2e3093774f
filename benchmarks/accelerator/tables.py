"""The suite's results as markdown: one table per part, from whatever results.json holds."""

from __future__ import annotations

from typing import Any

from examples.compare.report import markdown_table

# A column: its title, the row's key, the value's format, what stands for a missing value.
Column = tuple[str, str, str, str]


def _table(columns: list[Column], rows: list[dict[str, Any]]) -> list[str]:
    cells = [
        [
            missing if row.get(key) is None else spec.format(row[key])
            for _, key, spec, missing in columns
        ]
        for row in rows
    ]
    return markdown_table([title for title, *_ in columns], cells)


def _step(part: dict[str, Any]) -> list[str]:
    matmul = part.get("matmul_gflops")
    lines = [
        f"## Update step ({part['model']}), medians of {part.get('repeats')} x "
        f"{part.get('steps')} steps",
        "",
        f"float32 {part.get('matmul_size')}x{part.get('matmul_size')} jitted matmul: "
        f"{'n/a' if matmul is None else f'{matmul:.0f}'} GFLOP/s.",
        "",
    ]
    columns = [
        ("batch", "batch_size", "{}", "n/a"),
        ("JAX images/s", "jax_images_per_s", "{:.0f}", "n/a"),
        ("JAX compile s", "jax_compile_seconds", "{:.1f}", "n/a"),
        ("PyTorch eager images/s", "torch_eager_images_per_s", "{:.0f}", "n/a"),
        ("JAX / eager", "jax_over_torch_eager", "{:.2f}", "n/a"),
        ("GFLOP a step (XLA)", "step_gflop", "{:.3f}", "n/a"),
        ("step GFLOP/s", "step_gflops", "{:.0f}", "n/a"),
        ("share of matmul", "step_share_of_matmul", "{:.0%}", "n/a"),
    ]
    errors = [
        f"PyTorch eager at batch {row['batch_size']} failed: {row['torch_eager_error']}"
        for row in part["rows"]
        if "torch_eager_error" in row
    ]
    return lines + _table(columns, part["rows"]) + (["", *errors] if errors else [])


def _torch_compile(part: dict[str, Any]) -> list[str]:
    columns = [
        ("batch", "batch_size", "{}", "n/a"),
        ("images/s", "images_per_s", "{:.0f}", "n/a"),
        ("compile s", "compile_seconds", "{:.1f}", "n/a"),
        ("error", "error", "{}", ""),
    ]
    title = f"## PyTorch `torch.compile` (each try limited to {part['limit_seconds']:.0f} s)"
    return [title, "", *_table(columns, part["rows"])]


def _sweep(part: dict[str, Any]) -> list[str]:
    columns = [
        ("K", "k", "{}", "n/a"),
        ("group s", "group_seconds", "{:.3f}", "n/a"),
        ("one after another s", "sequential_seconds", "{:.3f}", "n/a"),
        ("speed-up", "speedup", "{:.2f}x", "n/ax"),
        ("group images/s", "group_images_per_s", "{:.0f}", "n/a"),
        ("group compile s", "group_compile_seconds", "{:.1f}", "n/a"),
        ("peak device MB", "peak_memory_mb", "{:.0f}", "n/a"),
    ]
    title = (
        f"## Vmapped sweep: K runs in one group vs one after another "
        f"({part['steps']} updates a run, medians of {part['repeats']})"
    )
    return [title, "", *_table(columns, part["rows"])]


def _accuracy(part: dict[str, Any]) -> list[str]:
    columns = [
        ("recipe", "recipe", "{}", "n/a"),
        ("seconds to target", "seconds_to_target", "{:.1f}", "not reached"),
        ("epoch", "epochs_to_target", "{:.2f}", "-"),
        ("best test accuracy", "best_accuracy", "{:.2%}", "n/a"),
        ("compile s", "compile_seconds", "{:.1f}", "n/a"),
    ]
    title = (
        f"## Time to {part['target']:.0%} test accuracy on MNIST (budget {part['epochs']} "
        "epochs; compilation and evaluation excluded)"
    )
    return [title, "", *_table(columns, part["rows"])]


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
