"""Sphinx configuration for jaxsched's documentation site (built offline, warnings as errors).

.venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

# The catalogue's figures need no accelerator, and JAX would log its search for one.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jaxsched  # noqa: E402

project = "jaxsched"
author = "The jaxsched authors"
copyright = "2026, The jaxsched authors"
release = jaxsched.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "catalogue",
    "api_reference",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_generated"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# Google-style docstrings, as in optax and flax.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": False}
# Type hints name JAX's and optax's types; the site does not link to other projects' docs.
nitpicky = False
# Docstrings write `name` for code, as optax's and flax's do.
default_role = "code"

html_theme = "furo"
html_title = f"jaxsched {release}"
html_static_path: list[str] = []
