"""Benchmarks and scale data: run on demand (`make bench`), never part of the test suite."""
