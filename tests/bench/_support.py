"""Running the benchmark's asyncio client inside the test session."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run_async(coroutine):
    """``asyncio.run`` on a thread of its own: Playwright's sync API (the browser tests) leaves an
    event loop marked running on the main thread, where ``asyncio.run`` would refuse to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
