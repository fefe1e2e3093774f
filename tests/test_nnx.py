"""jaxsched in Flax: NNX first (`nnx.Optimizer`, `nnx.jit`, `nnx.state`), and Linen's TrainState.

`current_lr`, `current_hyperparams` and `set_scale` take the optimizer state in every form
it takes in Flax code and in its checkpoints; the NNX guide's example runs here as written.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import optax
import orbax.checkpoint as ocp
import pytest
from flax import nnx
from flax.training import train_state

import jaxsched

GUIDE = pathlib.Path(__file__).parent.parent / "docs" / "guides" / "nnx.md"
SCHEDULE = jaxsched.linear(1.0, 0.0, transition_steps=8)


class Tiny(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.linear = nnx.Linear(3, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear(x)


def make_optimizer(schedule: jaxsched.Schedule = SCHEDULE) -> tuple[Tiny, nnx.Optimizer]:
    model = Tiny(nnx.Rngs(0))
    injected = jaxsched.inject(optax.sgd, learning_rate=schedule)
    tx = optax.chain(optax.clip_by_global_norm(10.0), injected)
    return model, nnx.Optimizer(model, tx, wrt=nnx.Param)


@nnx.jit
def train_step(model: Tiny, optimizer: nnx.Optimizer) -> jax.Array:
    grads = nnx.grad(lambda m: jnp.sum(m(jnp.ones((2, 3))) ** 2))(model)
    optimizer.update(model, grads)
    return jaxsched.current_lr(optimizer)


def test_current_lr_reads_every_nnx_form_of_the_state(tmp_path) -> None:
    model, optimizer = make_optimizer()
    logged = [float(train_step(model, optimizer)) for _ in range(3)]
    assert logged == [float(SCHEDULE(n)) for n in range(3)]
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "ckpt", nnx.state(optimizer))
    checkpointer.wait_until_finished()
    forms = {
        "nnx.Optimizer": optimizer,
        "opt_state": optimizer.opt_state,
        "nnx.state(optimizer)": nnx.state(optimizer),
        "nnx.state(opt_state)": nnx.state(optimizer, nnx.OptState),
        "nnx.as_pure": nnx.as_pure(optimizer.opt_state),
        "orbax, no target": checkpointer.restore(tmp_path / "ckpt"),
    }
    for form, state in forms.items():
        assert float(jaxsched.current_lr(state)) == float(SCHEDULE(2)), form
        assert float(jaxsched.current_lr(state, "next")) == float(SCHEDULE(3)), form
        assert set(jaxsched.current_hyperparams(state)) == {"learning_rate"}, form


def test_set_scale_writes_an_nnx_optimizer_in_place_and_the_next_update_uses_it() -> None:
    model, optimizer = make_optimizer(jaxsched.constant(1.0))
    train_step(model, optimizer)
    assert jaxsched.set_scale(optimizer, learning_rate=0.25) is optimizer
    assert float(jaxsched.current_lr(optimizer, "next")) == 0.25
    assert float(train_step(model, optimizer)) == 0.25
    jaxsched.set_scale(optimizer.opt_state, learning_rate=0.5)  # the plateau guide's recipe
    assert float(train_step(model, optimizer)) == 0.5
    state = nnx.state(optimizer)
    jaxsched.set_scale(state, learning_rate=0.125)
    nnx.update(optimizer, state)
    assert float(train_step(model, optimizer)) == 0.125


def test_set_scale_inside_nnx_jit_updates_the_optimizer() -> None:
    model, optimizer = make_optimizer(jaxsched.constant(1.0))
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0)

    @nnx.jit
    def end_of_epoch(optimizer: nnx.Optimizer, plateau_state, metric):
        plateau_state = plateau.update(plateau_state, metric)
        jaxsched.set_scale(optimizer, learning_rate=plateau.value(plateau_state))
        return plateau_state

    plateau_state = end_of_epoch(optimizer, plateau.init(), 1.0)
    plateau_state = end_of_epoch(optimizer, plateau_state, 2.0)  # worse: halve
    assert float(jaxsched.current_lr(optimizer, "next")) == 0.5
    assert float(train_step(model, optimizer)) == 0.5


def test_set_scale_on_an_orbax_dict_returns_a_new_dict(tmp_path) -> None:
    model, optimizer = make_optimizer()
    train_step(model, optimizer)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "ckpt", {"opt_state": nnx.as_pure(optimizer.opt_state)})
    checkpointer.wait_until_finished()
    restored = checkpointer.restore(tmp_path / "ckpt")
    scaled = jaxsched.set_scale(restored, learning_rate=0.5)
    assert float(jaxsched.current_lr(scaled, "next")) == 0.5 * float(SCHEDULE(1))
    assert float(jaxsched.current_lr(restored, "next")) == float(SCHEDULE(1))


def test_linen_train_state_finds_and_scales_the_injected_state() -> None:
    params = {"w": jnp.ones(3)}
    state = train_state.TrainState.create(
        apply_fn=lambda p, x: x @ p["w"],
        params=params,
        tx=jaxsched.inject(optax.adam, learning_rate=SCHEDULE),
    )

    @jax.jit
    def step(state):
        grads = jax.grad(lambda p: jnp.sum(state.apply_fn(p, jnp.ones((2, 3))) ** 2))(state.params)
        return state.apply_gradients(grads=grads)

    state = step(step(state))
    assert float(jaxsched.current_lr(state)) == float(SCHEDULE(1))
    state = state.replace(opt_state=jaxsched.set_scale(state.opt_state, learning_rate=0.5))
    assert float(jaxsched.current_lr(state, "next")) == 0.5 * float(SCHEDULE(2))


def _guide_code() -> str:
    text = GUIDE.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]


def test_the_nnx_guide_trains_with_the_plateau_scale_applied() -> None:
    code = _guide_code()
    assert "nnx.Optimizer" in code and "set_scale" in code
    namespace: dict = {}
    exec(compile(code, "docs/guides/nnx.md", "exec"), namespace)
    optimizer = namespace["optimizer"]
    lr = float(jaxsched.current_lr(optimizer))
    scale = float(namespace["plateau"].value(namespace["plateau_state"]))
    assert lr == pytest.approx(scale * float(namespace["schedule"](29)), rel=1e-6)


def test_import_jaxsched_does_not_import_flax() -> None:
    code = "import sys, jaxsched; assert not any(m.startswith('flax') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
