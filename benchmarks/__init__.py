"""pytest-benchmark suite: the six query shapes before and after migration 007."""
