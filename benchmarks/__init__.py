"""Benchmarks of the Switchvox integration against the simulator and a real Home Assistant core.

``python -m benchmarks`` (or ``./scripts/bench``) runs every scenario, prints a table and writes
``benchmarks/results.json``; ``--smoke`` runs small counts quickly for CI (no thresholds).
"""
