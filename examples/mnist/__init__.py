"""A Flax MNIST / Fashion-MNIST trainer that shows what a jaxsched schedule does to a model.

`main.py` is the command line; `train.py` is the importable training library it drives.
"""
