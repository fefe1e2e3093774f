"""The accelerator suite: one command that measures the trainer, the vmapped sweep and time to
accuracy on one device, and a second that runs the study at full size (README.md here)."""
