"""A Flax NNX MNIST / Fashion-MNIST trainer that shows what a jaxsched schedule does to a model.

`main.py` is the command line; `train.py` is the importable training library it drives, over
the training core in `core.py` that the study in `examples/compare/` shares.
"""
