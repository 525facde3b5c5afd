"""The browser bench's section of docs/benchmarks.md: every mode, whether it navigated, and the
steps of both kinds of cycle side by side (bench/browser_bench.py)."""

from __future__ import annotations

from bench import browser_bench, load_bench


def test_the_section_shows_each_mode_and_the_steps_of_both_kinds_of_cycle():
    navigating = browser_bench.ModeResult(
        samples=[80.0, 90.0], cached=2, navigated=2, steps={"submit (POST, 302)": [20.0, 22.0]}
    )
    swapping = browser_bench.ModeResult(
        samples=[30.0, 40.0], cached=2, navigated=0, steps={"submit (POST, JSON)": [25.0, 27.0]}
    )
    lines = browser_bench.markdown(
        {"prefetch only": navigating, "after": swapping}, cycles=2, dwell_ms=500, image_kib=249
    )
    assert lines[0] == load_bench.BROWSER_HEADING
    assert "| prefetch only | 85.0 ms | 90.0 ms | 90.0 ms | 2/2 | 2/2 |" in lines
    assert "| after | 35.0 ms | 40.0 ms | 40.0 ms | 2/2 | 0/2 |" in lines
    assert "| step | prefetch only | after |" in lines
    assert "| submit (POST, 302) | 21.0 | - |" in lines
    assert "| submit (POST, JSON) | - | 26.0 |" in lines
