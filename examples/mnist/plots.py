"""The end-of-run figure: learning rate, training loss and test accuracy."""

from __future__ import annotations

from typing import Any


def write_curves(records: list[dict[str, Any]], path: str) -> None:
    """Writes to `path` a PNG of the learning rate and train loss per update and test accuracy
    per epoch, from metrics.jsonl `records`."""
    # Imported here: matplotlib takes 1.5 s to import (`python -X importtime`), which a run
    # with --no-plot does not pay.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    figure, (lr_axes, loss_axes, accuracy_axes) = plt.subplots(1, 3, figsize=(13, 3.6))
    lr_axes.plot([r["step"] for r in steps], [r["lr"] for r in steps])
    lr_axes.set(title="learning rate", xlabel="update")
    loss_axes.plot([r["step"] for r in steps], [r["loss"] for r in steps], lw=0.5, alpha=0.6)
    loss_axes.set(title="train loss", xlabel="update", yscale="log")
    accuracy_axes.plot([r["epoch"] for r in epochs], [r["test_accuracy"] for r in epochs], "o-")
    accuracy_axes.set(title="test accuracy", xlabel="epoch")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
