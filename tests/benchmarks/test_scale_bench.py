"""`python -m benchmarks --quick --only scale`: real servers on both databases, loaded by SQL.

No timing is asserted (the machine is shared): only that every size loaded, every scenario's
calls returned a full page (a failed or short page makes the run exit 1), and the ratio rows are
printed.
"""

from __future__ import annotations

from benchmarks.scale_bench import SCENARIOS
from tests.benchmarks.bench_process import run_benchmarks


def test_quick_scale_run_prints_every_size_and_the_ratio_on_both_databases() -> None:
    output = run_benchmarks("--quick", "--only", "scale", timeout_s=120)
    lines = output.splitlines()
    for backend in ("sqlite", "postgres"):
        for size in ("1,000", "10,000"):
            row = next(line for line in lines if line.split()[:2] == [backend, size])
            p50s = [float(cell) for cell in row.split()[3:]]
            assert len(p50s) == len(SCENARIOS), row
            assert all(p50 > 0 for p50 in p50s), row
        ratios = next(line for line in lines if line.split()[:2] == [backend, "10k/1k"])
        ratio_cells = [cell for cell in ratios.split() if cell.endswith("x")]
        assert len(ratio_cells) == len(SCENARIOS), ratios
