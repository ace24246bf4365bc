"""Benchmarks that print tables: python -m bench.loop_precision, python -m bench.loop_throughput."""
