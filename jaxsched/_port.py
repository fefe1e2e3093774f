"""Porting by name: the peer libraries' scheduler names `jaxsched.get` takes, and its advice.

`PEERS` maps each PyTorch scheduler class, Keras `LearningRateSchedule` class, transformers
`get_*` function and timm scheduler class (and `create_scheduler_v2`) to a builder that takes
that library's own keyword arguments. The rest of the module words the errors: the closest
known names for a misspelled one, and the jaxsched name of a peer's keyword (`max_lr` is
`peak_value`) when a jaxsched schedule is given one.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from jaxsched._port_keras import KERAS
from jaxsched._port_timm import TIMM
from jaxsched._port_torch import TORCH
from jaxsched._port_transformers import FUNCTION_OF_TYPE, FUNCTIONS

LIBRARIES: dict[str, dict[str, Callable[..., Any]]] = {
    "torch": TORCH,
    "keras": KERAS,
    "transformers": FUNCTIONS,
    "timm": TIMM,
}
PEERS: dict[str, tuple[str, Callable[..., Any]]] = {
    name: (library, builder) for library, table in LIBRARIES.items() for name, builder in
    table.items()
}  # fmt: skip
# Module paths a ported name may keep: "torch.optim.lr_scheduler.StepLR".
_PREFIXES = {
    "torch": ("torch.optim.lr_scheduler.", "torch.optim.swa_utils.", "torch."),
    "keras": ("keras.optimizers.schedules.", "tf.keras.optimizers.schedules.", "keras."),
    "transformers": ("transformers.optimization.", "transformers."),
    "timm": ("timm.scheduler.", "timm."),
}

# A peer's keyword -> the jaxsched parameters that mean the same, and what to know about it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "lr": ("init_value", "peak_value", "value", "base_value"),
    "learning_rate": ("init_value", "peak_value", "value"),
    "max_lr": ("peak_value", "max_value"),
    "base_lr": ("base_value", "init_value"),
    "initial_learning_rate": ("init_value",),
    "warmup_target": ("peak_value",),
    "warmup_lr_init": ("init_value",),
    "warmup_lr": ("init_value",),
    "end_learning_rate": ("end_value",),
    "eta_min": ("end_value",),
    "lr_min": ("end_value",),
    "min_lr": ("end_value", "min_value"),
    "lr_end": ("end_value",),
    "alpha": ("end_value",),
    "start_factor": ("init_value",),
    "end_factor": ("end_value",),
    "T_max": ("decay_steps",),
    "T_0": ("first_decay_steps",),
    "T_mult": ("t_mul",),
    "cycle_mul": ("t_mul",),
    "gamma": ("decay_rate",),
    "total_iters": ("transition_steps", "decay_steps"),
    "t_initial": ("decay_steps", "first_decay_steps"),
    "epochs": ("total_steps",),
    "num_warmup_steps": ("warmup_steps",),
    "warmup_t": ("warmup_steps",),
    "warmup_epochs": ("warmup_steps",),
    "num_training_steps": ("total_steps", "decay_steps"),
    "decay_t": ("step_size", "decay_steps"),
    "swa_lr": ("swa_value",),
    "anneal_epochs": ("anneal_steps",),
    "lr_lambda": ("fn",),
    "lb": ("lower",),
    "ub": ("upper",),
}
_NOTES = {
    "alpha": "keras' alpha is a share: end_value = alpha * init_value",
    "start_factor": "torch's factors scale the learning rate: init_value = lr * start_factor",
    "end_factor": "torch's factors scale the learning rate: end_value = lr * end_factor",
    "num_training_steps": "jaxsched's decay_steps count the warmup in warmup_cosine_decay",
}


def parameters(builder: Callable[..., Any]) -> list[inspect.Parameter]:
    """The keyword parameters a user passes to `builder` (not `build`, not `**kwargs`)."""
    return [
        p
        for p in inspect.signature(builder).parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD and p.name != "build"
    ]


def resolve(name: str) -> tuple[str, str, Callable[..., Any]] | None:
    """(library, bare name, builder) for a peer name, with or without its module path."""
    if name in PEERS:
        return PEERS[name][0], name, PEERS[name][1]
    for library, prefixes in _PREFIXES.items():
        for prefix in prefixes:
            bare = name[len(prefix) :]
            if name.startswith(prefix) and bare in LIBRARIES[library]:
                return library, bare, LIBRARIES[library][bare]
    return None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest known words (case ignored), or ""."""
    known = sorted(set(known))
    lower = {k.lower(): k for k in known}
    matches = difflib.get_close_matches(word.lower(), list(lower), n=3, cutoff=0.6)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(lower[m]) for m in matches) + "?"


# The peer scheduler each jaxsched schedule ports, to point at when given the peer's words.
_PEER_OF = {
    "one_cycle": "OneCycleLR",
    "cyclic": "CyclicLR",
    "cosine_decay": "CosineAnnealingLR",
    "cosine_restarts": "CosineAnnealingWarmRestarts",
    "step_decay": "StepLR",
    "multistep_decay": "MultiStepLR",
    "exponential_decay": "ExponentialLR",
    "linear": "LinearLR",
    "polynomial_decay": "PolynomialLR",
    "constant_factor": "ConstantLR",
    "swa": "SWALR",
    "lambda_schedule": "LambdaLR",
    "multiplicative": "MultiplicativeLR",
    "tanh_decay": "TanhLRScheduler",
    "inverse_time_decay": "InverseTimeDecay",
    "piecewise_constant": "PiecewiseConstantDecay",
    "warmup_cosine_decay": "CosineDecay",
    "warmup_stable_decay": "get_wsd_schedule",
    "inverse_sqrt": "get_inverse_sqrt_schedule",
}


def _possessive(library: str) -> str:
    return f"{library}'" if library.endswith("s") else f"{library}'s"


def _peer_taking(name: str, key: str, peer: str | None) -> str | None:
    """The peer scheduler that `name` ports, if it takes `key`."""
    ported = FUNCTION_OF_TYPE.get(name) if peer == "transformers" else _PEER_OF.get(name)
    if ported is not None and key in {p.name for p in parameters(PEERS[ported][1])}:
        return ported
    return None


def unexpected(name: str, key: str, accepted: Iterable[str], peer: str | None) -> str:
    """Why `key` is not an argument of `name`, and what to pass instead."""
    accepted = list(accepted)
    message = f"{name!r} takes no argument {key!r}"
    same = [c for c in SYNONYMS.get(key, ()) if c in accepted]
    if same:
        message += f": jaxsched calls it {same[0]}"
        if key in _NOTES:
            message += f" ({_NOTES[key]})"
        ported = _peer_taking(name, key, peer)
        if ported is not None:
            library = PEERS[ported][0]
            message += (
                f"; or keep {_possessive(library)} names by porting its scheduler by name: "
                f"jaxsched.get({ported!r}, {key}=...)"
            )
        return message
    theirs = [k for k in accepted if key in SYNONYMS.get(k, ())]
    if peer is not None and theirs:
        return message + f": {name} takes {_possessive(peer)} names, where {key} is {theirs[0]}"
    return message + (did_you_mean(key, accepted) or f"; it takes {sorted(accepted)}")
