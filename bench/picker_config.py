"""The picker benchmark's sizes, counts and targets (bench/picker_bench.py runs it)."""

PAGES_PER_DOCUMENT = 100
THRESHOLD = 3
REVIEWED_BY_BENCH_REVIEWER = 500
RANDOM_SIZE = 400_000
RANDOM_RUNS = 11
FALLBACK_PICKS = 500
COVERAGE_PAGES = 40_000
COVERAGE_CHECKPOINTS = (10_000, 20_000, 40_000, 80_000)
COVERAGE_IN_FLIGHT = 64  # reviewers reviewing at once in the coverage simulation
TARGET_SIZE_RATIO = 1.5
TARGET_RANDOM_RATIO = 100.0
