#!/usr/bin/env bash
# One-command set-up: a virtual environment at .venv with jaxsched and every extra, Debian's
# real Fashion-MNIST when it is missing, then the main job (the MNIST trainer, 2 epochs). `bash setup.sh --no-run` stops
# after the set-up (CI uses that). Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")"

run_main=1
[[ "${1:-}" == "--no-run" ]] && run_main=0

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# constraints.txt pins the versions that the tests and the figures in BUILD_NOTES.md used.
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[plot,examples,dev,docs]'

FASHION=/usr/share/datasets/fashion-mnist
if [[ ! -d "$FASHION" ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "note: $FASHION is missing; as root run: apt-get install dataset-fashion-mnist" >&2
  fi
fi

if ((run_main)); then
  # The main job: the Flax NNX CNN on the real Fashion-MNIST for 2 epochs with one-cycle, in a
  # fresh run folder (an existing one is only continued with --resume).
  .venv/bin/python -m examples.mnist.main --dataset fashion_mnist --data-dir "$FASHION" \
    --epochs 2 --schedule one_cycle --learning-rate 0.1 \
    --workdir "runs/main-$(date +%Y%m%d-%H%M%S)"
fi
