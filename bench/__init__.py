"""Benchmarks of mlpulse; `python -m bench.run --help`. Figures go to BENCHMARKS.md."""
