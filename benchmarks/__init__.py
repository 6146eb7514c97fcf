"""Benchmarks of the unparl pipeline: `make bench` (python -m benchmarks.run)."""
