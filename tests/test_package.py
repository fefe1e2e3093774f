"""The release: an sdist and a wheel holding only the library, and a wheel that works alone.

`python -m build` makes both, `twine check --strict` passes them, and the wheel installed
into a fresh virtual environment, with nothing but jaxsched's declared dependencies (jax,
optax, numpy and theirs), evaluates a schedule and trains with it.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest
from packaging.version import Version

import jaxsched

ROOT = pathlib.Path(__file__).parent.parent

SMOKE = """
import importlib.util, optax, jax.numpy as jnp, jaxsched
for extra in ("flax", "matplotlib", "orbax", "tensorflow_datasets", "pytest"):
    assert importlib.util.find_spec(extra) is None, extra
schedule = jaxsched.warmup_cosine_decay(0.0, 1.0, warmup_steps=2, decay_steps=4)
print([round(float(v), 4) for v in schedule(jnp.arange(6))])
tx = jaxsched.inject(optax.sgd, learning_rate=schedule)
state = tx.init(jnp.zeros(2))
_, state = tx.update(jnp.ones(2), state)
print(float(jaxsched.current_lr(state, "next")), jaxsched.__version__)
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def test_sdist_and_wheel_hold_only_the_library_and_pass_twine_check(dist: pathlib.Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"jaxsched-{jaxsched.__version__}-py3-none-any.whl"
    wheel_files = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in wheel_files} == {
        "jaxsched",
        f"jaxsched-{jaxsched.__version__}.dist-info",
    }
    assert "jaxsched/py.typed" in wheel_files
    assert any(name.endswith("licenses/LICENSE") for name in wheel_files)
    with tarfile.open(sdist) as archive:
        top = {pathlib.PurePath(name).parts[1] for name in archive.getnames()[1:]}
    assert top <= {"jaxsched", "jaxsched.egg-info", "LICENSE", "README.md", "PKG-INFO"} | {
        "pyproject.toml",
        "setup.cfg",
        "MANIFEST.in",
    }, top
    metadata = (
        zipfile.ZipFile(wheel).read(f"jaxsched-{jaxsched.__version__}.dist-info/METADATA").decode()
    )
    assert "License-Expression: Apache-2.0" in metadata
    requires = sorted(line for line in metadata.splitlines() if line.startswith("Requires-Dist"))
    assert [r for r in requires if "extra ==" not in r] == [
        "Requires-Dist: jax>=0.5.3",
        "Requires-Dist: jaxlib>=0.5.3",
        "Requires-Dist: numpy>=1.26",
        "Requires-Dist: optax>=0.2.8",
    ]
    python = f"Programming Language :: Python :: {sys.version_info.major}.{sys.version_info.minor}"
    assert f"Classifier: {python}" in metadata.splitlines(), "a tested Python is not declared"
    subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        check=True,
        capture_output=True,
    )


def test_the_wheel_alone_works_in_a_fresh_environment(
    dist: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    # Without a pip of its own, installed by this environment's pip, without byte-compiling
    # every module of jax, jaxlib and scipy: 6 s of CPU where the venv's own pip took 23 s.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The pinned versions come from pip's cache when set-up has run: no download in CI.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-compile"]
    constraints = str(ROOT / "constraints.txt")
    subprocess.run(
        [*pip, "--quiet", "--disable-pip-version-check", "-c", constraints, str(wheel)],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [python, "-c", SMOKE], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert result.stdout.splitlines() == [
        "[0.0, 0.5, 1.0, 0.5, 0.0, 0.0]",
        f"0.5 {jaxsched.__version__}",
    ]


def test_the_floor_leg_pins_exactly_the_declared_floors() -> None:
    """Each floor of the dependencies and the plot extra is a pin of constraints-min.txt."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for requirement in project["dependencies"] + project["optional-dependencies"]["plot"]:
        name, floor = requirement.split(">=")
        floors[name] = Version(floor)
    pins = {}
    for line in (ROOT / "constraints-min.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = Version(version)
    assert floors == {name: pins.get(name) for name in floors}
