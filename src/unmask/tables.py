"""CSV text of dict rows, the one writer behind every table the project writes (evaluation
cases.csv, batch report.csv, benchmark and fitting-script tables)."""

from __future__ import annotations

import csv
import io
from typing import Any


def rows_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """CSV text of `rows` with a header line.

    `columns` fixes the header (keys not in it are left out, missing ones and None are empty);
    by default every key in first-seen order. Floats are written to 6 significant digits."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in columns})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else value
