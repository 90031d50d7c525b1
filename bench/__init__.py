"""Benchmarks: the farm against named baselines, measured in the same run."""
