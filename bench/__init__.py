"""The benchmark suite (``make bench`` -> ``python -m bench``); writes docs/benchmarks.md."""
