"""The batch's account on disk. Every finished job leaves a record file (OUT/records/<key>.<task>.json,
written atomically the moment it finishes, so an interruption loses only the jobs running then,
with everything known of the job, the pipeline's whole record included); the report
(report.csv, report.json, index.html with before/after thumbnails) is made from slim rows of
them, every few seconds while the batch runs and at its end."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from unmask.images import write_text
from unmask.tables import rows_csv

RECORDS = "records"
THUMBS = "thumbs"
CSV_COLUMNS = ("target", "status", "output", "reference", "identity_distance", "seconds", "error", "warnings",
               "earlier_run", "hash")


FAILURES_SHOWN = 20
"""Most failed targets the terminal lists at the end of a batch (the report lists them all)."""

BULKY = ("record", "traceback", "found")
"""Fields of a record file that the report rows leave out (they stay in the record file)."""


class Records:
    """The finished jobs of a batch folder: (task, key) -> report row, read from OUT/records at
    start. A row is the record file without its `BULKY` fields (about 1 kB), plus `record_file`."""

    def __init__(self, out: Path):
        self.folder = out / RECORDS
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        for path in sorted(self.folder.rglob("*.json")) if self.folder.is_dir() else ():
            row = _load(path)
            if row is not None:
                self._keep(row, earlier=True)

    def get(self, task: str, key: str) -> dict[str, Any] | None:
        """The row of a finished job, or None."""
        return self.rows.get((task, key))

    def add(self, row: dict[str, Any], protect: list[Path]) -> None:
        """Write the record file of `row` (a finished job's fields, with task and target) and
        keep its report row."""
        path = self.folder / self.name(row["task"], row["target"])
        write_text(path, json.dumps(row, indent=1, default=str) + "\n", protect=protect)
        self._keep(row, earlier=False)

    def bulky(self, task: str, key: str, field: str) -> Any:
        """One of the `BULKY` fields of a finished job, read from its record file (None when the
        job or the field is missing)."""
        if (task, key) not in self.rows:
            return None
        row = _load(self.folder / self.name(task, key))
        return None if row is None else row.get(field)

    @staticmethod
    def name(task: str, key: str) -> str:
        """The record file of a job, relative to OUT/records."""
        return f"{key}.{task}.json"

    def _keep(self, row: dict[str, Any], earlier: bool) -> None:
        slim = {k: v for k, v in row.items() if k not in BULKY}
        slim["earlier_run"] = earlier
        slim["record_file"] = f"{RECORDS}/{self.name(row['task'], row['target'])}"
        self.rows[(row["task"], row["target"])] = slim


def _load(path: Path) -> dict[str, Any] | None:
    """A record file's row; None for one that is not a record (it is then redone)."""
    try:
        row = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) and {"task", "target", "status", "hash"} <= set(row) else None


def write_report(out: Path, rows: list[dict[str, Any]], header: dict[str, Any], protect: list[Path]) -> list[Path]:
    """Write OUT/report.csv, report.json (`header` + the rows) and index.html; returns their paths."""
    document = {**header, "targets": rows}
    return [
        write_text(out / "report.csv", rows_csv(rows, CSV_COLUMNS), protect=protect),
        write_text(out / "report.json", json.dumps(document, indent=1, default=str) + "\n", protect=protect),
        write_text(out / "index.html", _html(rows, header), protect=protect),
    ]


def failure_lines(failures: list[tuple[str, str]], report: Path, limit: int = FAILURES_SHOWN) -> list[str]:
    """What the terminal says of the failed targets, (key, error) in input order: a heading naming
    the `report` (report.csv), then one `failed: KEY: ERROR` line each, at most `limit` of them and
    a line saying how many more; [] when none failed."""
    if not failures:
        return []
    lines = [f"{len(failures)} failed (every reason is also in {report}):"]
    lines += [f"failed: {key}: {error}" for key, error in failures[:limit]]
    if len(failures) > limit:
        lines.append(f"... and {len(failures) - limit} more failed: see {report}")
    return lines


def _html(rows: list[dict[str, Any]], header: dict[str, Any]) -> str:
    def image(src: str | None) -> str:
        return f'<img src="{html.escape(src)}" alt="">' if src else ""

    def cell(value: Any) -> str:
        return "" if value is None else html.escape(str(value))

    counts = ", ".join(f"{n} {status}" for status, n in header["counts"].items())
    lines = [
        "<!doctype html>", '<html><head><meta charset="utf-8"><title>unmask batch</title>',
        "<style>body{font-family:sans-serif}td,th{padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}"
        "img{max-width:160px}.failed,.error{color:#b00}</style></head><body>",
        f"<h1>unmask batch: {cell(header['input'])}</h1>",
        f"<p>{cell(counts)} &middot; method {cell(header['settings']['method'])} &middot; "
        f"unmask {cell(header['unmask_version'])}</p>",
        "<table><tr><th>before</th><th>after</th><th>target</th><th>status</th><th>reference</th>"
        "<th>identity distance</th><th>seconds</th><th>message</th></tr>",
    ]
    for row in rows:
        message = row.get("error") or row.get("warnings") or ""
        lines.append(
            f'<tr class="{cell(row["status"]).replace(" ", "-")}"><td>{image(row.get("before"))}</td>'
            f'<td>{image(row.get("after"))}</td><td>{cell(row["target"])}</td><td>{cell(row["status"])}</td>'
            f'<td>{cell(row.get("reference"))}</td><td>{cell(row.get("identity_distance"))}</td>'
            f'<td>{cell(row.get("seconds"))}</td><td>{cell(message)}</td></tr>')
    lines += ["</table></body></html>", ""]
    return "\n".join(lines)
