"""Benchmarks of jaxsched, its MNIST trainer and its study (README.md); run as modules."""
