"""The suite's results as markdown: one table per part, from whatever results.json holds."""

from __future__ import annotations

from typing import Any

from examples.compare.report import markdown_table

# Per part, in the order they run: its title (formatted with the part's fields) and its
# columns: title, the row's key, the value's format, and what stands for a missing value
# when it is not "n/a".
TABLES: dict[str, tuple[str, list[tuple[str, ...]]]] = {
    "sweep": (
        "Vmapped sweep: K runs in one group vs one after another ({steps} updates a run, "
        "medians of {repeats})",
        [
            ("K", "k", "{}"),
            ("group s", "group_seconds", "{:.3f}"),
            ("one after another s", "sequential_seconds", "{:.3f}"),
            ("speed-up", "speedup", "{:.2f}x", "n/ax"),
            ("group images/s", "group_images_per_s", "{:.0f}"),
            ("group compile s", "group_compile_seconds", "{:.1f}"),
            ("peak device MB", "peak_memory_mb", "{:.0f}"),
        ],
    ),
    "step": (
        "Update step ({model}), medians of {repeats} x {steps} steps",
        [
            ("batch", "batch_size", "{}"),
            ("JAX images/s", "jax_images_per_s", "{:.0f}"),
            ("JAX compile s", "jax_compile_seconds", "{:.1f}"),
            ("PyTorch eager images/s", "torch_eager_images_per_s", "{:.0f}"),
            ("JAX / eager", "jax_over_torch_eager", "{:.2f}"),
            ("GFLOP a step (XLA)", "step_gflop", "{:.3f}"),
            ("step GFLOP/s", "step_gflops", "{:.0f}"),
            ("share of matmul", "step_share_of_matmul", "{:.0%}"),
        ],
    ),
    "accuracy": (
        "Time to {target:.0%} test accuracy on MNIST (budget {epochs} epochs; compilation and "
        "evaluation excluded)",
        [
            ("recipe", "recipe", "{}"),
            ("seconds to target", "seconds_to_target", "{:.1f}", "not reached"),
            ("epoch", "epochs_to_target", "{:.2f}", "-"),
            ("best test accuracy", "best_accuracy", "{:.2%}"),
            ("compile s", "compile_seconds", "{:.1f}"),
        ],
    ),
    "torch_compile": (
        "PyTorch `torch.compile` (each try limited to {limit_seconds:.0f} s)",
        [
            ("batch", "batch_size", "{}"),
            ("images/s", "images_per_s", "{:.0f}"),
            ("compile s", "compile_seconds", "{:.1f}"),
            ("error", "error", "{}", ""),
        ],
    ),
}


def _part(name: str, part: dict[str, Any]) -> list[str]:
    title, columns = TABLES[name]
    lines = [f"## {title.format(**part)}", ""]
    if name == "step":
        matmul = part.get("matmul_gflops")
        size = part["matmul_size"]
        rate = "n/a" if matmul is None else f"{matmul:.0f}"
        lines += [f"float32 {size}x{size} jitted matmul: {rate} GFLOP/s.", ""]
    cells = [
        [
            (*column, "n/a")[3] if row.get(column[1]) is None else column[2].format(row[column[1]])
            for column in columns
        ]
        for row in part["rows"]
    ]
    lines += markdown_table([column[0] for column in columns], cells)
    errors = [
        f"PyTorch eager at batch {row['batch_size']} failed: {row['torch_eager_error']}"
        for row in part["rows"]
        if "torch_eager_error" in row
    ]
    return lines + (["", *errors] if errors else [])


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
    for name in TABLES:
        part = results.get(name)
        if part is None:
            continue
        lines += ["", *(_part(name, part) if "rows" in part else [f"## {name}", ""])]
        if "error" in part:
            lines += ["", f"Part `{name}` failed: {part['error']}"]
    return "\n".join(lines) + "\n"
