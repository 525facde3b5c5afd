"""The load bench's CPU accounting (bench/proc_cpu.py): read from /proc for real processes."""

from __future__ import annotations

import subprocess
import sys
import time

from bench import load_bench, proc_cpu
from tests.bench._support import _recorder

# The marker is put together in the parent, so that only the child's command line holds it.
PARENT = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', sys.argv[1], 'crowd-spin-' + 'marker'])\n"
    "time.sleep(30)"
)
SPIN = "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end: pass\ntime.sleep(30)"


def test_it_finds_a_process_children_and_command_lines_and_reads_their_cpu():
    parent = subprocess.Popen([sys.executable, "-c", PARENT, SPIN])
    try:
        deadline = time.monotonic() + 10
        while not (children := proc_cpu.children_of(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(children) == 1
        assert proc_cpu.matching("crowd-spin-marker") == children
        before = proc_cpu.snapshot(lambda: {"spinner": children})
        time.sleep(1.2)  # it spins for 0.8 s of CPU, then sleeps
        after = proc_cpu.snapshot(lambda: {"spinner": children, "gone": [2**22 + 7]})
        assert 0 < after["spinner"] - before["spinner"] <= 1000
        assert after["gone"] == 0.0  # a process that is not there counts nothing
        spun = proc_cpu.per_cycle(before, after, cycles=4)["spinner"]
        assert spun == (after["spinner"] - before["spinner"]) / 4
    finally:
        for pid in proc_cpu.children_of(parent.pid):
            subprocess.run(["kill", str(pid)], check=False)
        parent.kill()
        parent.wait()


def test_no_cycles_no_figures():
    assert proc_cpu.per_cycle({"a": 1.0}, {"a": 5.0}, cycles=0) == {}


def test_the_report_shows_each_closed_loop_cpu_per_cycle_and_the_bound_it_sets():
    report = load_bench.LoadReport(pages=6000, when="2026-12-02 07:00", submitted=1, counted=1)
    report.alone = _recorder(10, 1.0, [9.0] * 10, 9.5, reviewers=1)
    report.nojs_alone = _recorder(10, 1.0, [4.0, 6.0] * 10, 10.5, reviewers=1)
    report.closed = _recorder(300, 2.0, [50.0] * 300, 50.0, reviewers=64)
    report.closed.cpu_per_cycle = {"gunicorn workers": 6.0, "Postgres backends": 3.0, "client": 1.0}
    report.nojs_closed = _recorder(100, 1.0, [50.0, 80.0] * 100, 130.0, reviewers=64)
    report.nojs_closed.cpu_per_cycle = {"gunicorn workers": 9.0, "Postgres backends": 3.5, "client": 0.5}
    report.open = _recorder(10, 1.0, [5.0] * 10, 5.0, offered=10)
    text = "\n".join(report.markdown())
    assert (
        "| closed loop, 64 reviewers | gunicorn workers | Postgres backends | client | total | bound on cycles/s |"
        in text
    )
    assert "| with JS | 6.00 ms | 3.00 ms | 1.00 ms | 10.00 ms | 200 |" in text
    assert "| without JS | 9.00 ms | 3.50 ms | 0.50 ms | 13.00 ms | 154 |" in text
    assert "CPU per cycle, closed loop with JS: gunicorn workers 6.00 ms" in report.summary()
