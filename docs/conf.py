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
    "sphinx.ext.viewcode",
    "offline_inventories",
    "catalogue",
    "api_reference",
    "links",
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
# Parameters typed with the public alias show it by name (it is `Any` to type checkers).
autodoc_type_aliases = {"ArrayLike": "jaxsched.ArrayLike"}
# Every cross-reference must resolve: here, or in an inventory of offline_inventories.py.
nitpicky = True
# Docstrings write `name` for code, as optax's and flax's do.
default_role = "code"

html_theme = "furo"
html_title = f"jaxsched {release}"
html_static_path = ["_static"]
html_css_files = ["jaxsched.css"]
