"""Keeps pytest (run with ``--doctest-modules``) from importing the golden-data scripts.

They import torch, keras, transformers and timm, which only the generators' own virtualenv
has; the tests read their output (the JSON files beside them) instead.
"""

collect_ignore_glob = ["generate*.py", "random_parity.py"]
