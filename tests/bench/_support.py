"""Running the benchmark's asyncio client inside the test session."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bench import load_bench


def run_async(coroutine):
    """``asyncio.run`` on a thread of its own: Playwright's sync API (the browser tests) leaves an
    event loop marked running on the main thread, where ``asyncio.run`` would refuse to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _recorder(cycles: int, seconds: float, ms: list[float], cycle_ms: float, **extra) -> load_bench.Recorder:
    rec = load_bench.Recorder(cycles=cycles, seconds=seconds, **extra)
    for i, value in enumerate(ms):
        kind = "submit" if i % 2 else "screen"
        rec.latencies.append(value / 1000)
        rec.by_kind.setdefault(kind, []).append(value / 1000)
    rec.cycle_times = [cycle_ms / 1000] * cycles
    return rec
