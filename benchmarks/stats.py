"""Percentiles, medians over repetitions, and the plain-text tables the benchmarks print."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median of `values`; 0.0 for none (a scenario that produced nothing shows as 0)."""
    return statistics.median(values) if values else 0.0


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0.0 when the denominator is 0 (nothing was measured)."""
    return numerator / denominator if denominator else 0.0


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, text_columns: int = 1
) -> str:
    """Columns padded to their widest cell: the first `text_columns` left-aligned, the numbers
    after them right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if index < text_columns else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])
