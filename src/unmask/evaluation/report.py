"""What `unmask eval` writes: the rows (cases.csv, cases.json), the summary per method and per
mask kind (summary.json, and as the text table the command prints) and the sheets."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from unmask.errors import UnmaskError
from unmask.tables import rows_csv
from unmask.evaluation.scores import (ALIGNED_METRICS, COLLATERAL_LIMIT, EXTRA_LIMIT, LIGHT_LIMIT, PHOTO_METRICS,
                                      REMNANT_LIMIT)


@dataclass
class Report:
    """Everything an evaluation measured: one row per (case, method), the summary, the contact
    sheet (sheet.png); `inputs` the files read (never written over); `sheets`: more sheets, file
    name -> a function drawing it (written under `sheets/`)."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    sheet: np.ndarray | None
    inputs: list[Path] = field(default_factory=list)
    sheets: dict[str, Callable[[], np.ndarray]] = field(default_factory=dict)


def summarize(rows: list[dict[str, Any]], methods: list[str], in_photo: bool = False) -> dict[str, Any]:
    """Per method, the summary of its rows, and the same per mask kind under "by_mask_kind".

    Synthetic and real rows (`in_photo` False): cases scored (status "ok") and skipped (with the
    reasons), the median and mean of every metric over the scored cases. `--cases` rows
    (`in_photo`): cases, done, failed (with their messages), the counts of cases with remnant above
    `REMNANT_LIMIT`, light90 above `LIGHT_LIMIT` and collateral above `COLLATERAL_LIMIT`, and median
    / 90th percentile / mean / max of every metric over all cases (failures included, scored as
    the masked photo). Non-finite values (the PSNR of an unchanged region, identity without a
    face) are left out of the statistics."""
    kind = "mask" if in_photo else "mask_kind"  # every --cases row has one, a real row none
    out = _per_method(rows, methods, in_photo)
    kinds = sorted({r[kind] for r in rows} if in_photo else {r[kind] for r in rows if r.get(kind)})
    if kinds or in_photo:
        out["by_mask_kind"] = {k: _per_method([r for r in rows if r.get(kind) == k], methods, in_photo) for k in kinds}
    return out


def _per_method(rows: list[dict[str, Any]], methods: list[str], in_photo: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"methods": {}}
    for name in methods:
        mine = [r for r in rows if r["method"] == name]
        if in_photo:
            failed = [r for r in mine if r["status"] != "done"]
            out["methods"][name] = {
                "cases": len(mine), "done": len(mine) - len(failed), "failed": len(failed),
                "remnant_over_1pct": sum(r["remnant"] > REMNANT_LIMIT for r in mine),
                "light90_over_20": sum(r["light90"] > LIGHT_LIMIT for r in mine),
                "collateral_over_5pct": sum(r["collateral"] > COLLATERAL_LIMIT for r in mine),
                "extra_area_over_5pct": sum(r["extra_area"] > EXTRA_LIMIT for r in mine),
                "missed_area_over_1pct": sum(r["missed_area"] > REMNANT_LIMIT for r in mine),
                "metrics": _statistics(mine, PHOTO_METRICS, ("median", "p90", "mean", "max")),
                "failures": sorted({f"{r['case']}: {r['message']}" for r in failed}),
            }
        else:
            ok = [r for r in mine if r["status"] == "ok"]
            skipped = [r for r in mine if r["status"] != "ok"]
            out["methods"][name] = {"scored": len(ok), "skipped": len(skipped),
                                    "metrics": _statistics(ok, ALIGNED_METRICS, ("median", "mean")),
                                    "skip_reasons": sorted({r["reason"] for r in skipped})}
    return out


def _statistics(rows: list[dict[str, Any]], metrics: tuple[str, ...], statistics: tuple[str, ...]) -> dict[str, Any]:
    """Per metric present in `rows`: the asked `statistics` of its finite values and their count n."""
    compute = {"median": np.median, "p90": lambda v: np.percentile(v, 90), "mean": np.mean, "max": np.max}
    out = {}
    for metric in metrics:
        values = np.array([r[metric] for r in rows if metric in r], dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            out[metric] = {**{s: float(compute[s](values)) for s in statistics}, "n": int(values.size)}
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a text table, one column per method: synthetic and real runs, median / mean
    of every metric and cases scored / skipped; `--cases` runs, done / cases, the counts of cases
    over the limits (remnant > 1 %, light90 > 20, collateral > 5 %), then median / 90th
    percentile / mean of every metric."""
    methods = list(summary["methods"])
    entries = [summary["methods"][name] for name in methods]
    in_photo = bool(entries) and "done" in entries[0]
    width = max(28 if in_photo else 19, *(len(name) + 3 for name in methods))

    def line(label: str, cells: list[str]) -> str:
        return f"{label:<20}" + "".join(cell.rjust(width) for cell in cells)

    if in_photo:
        lines = [line("median / p90 / mean", methods), line("done / cases", [f"{e['done']} / {e['cases']}" for e in entries])]
        lines += [line(label, [str(e[key]) for e in entries]) for label, key in (
            ("remnant > 1%", "remnant_over_1pct"), ("light90 > 20", "light90_over_20"),
            ("collateral > 5%", "collateral_over_5pct"), ("extra_area > 5%", "extra_area_over_5pct"),
            ("missed_area > 1%", "missed_area_over_1pct"))]
        for metric in PHOTO_METRICS:
            cells = [e["metrics"].get(metric) for e in entries]
            lines.append(line(metric, [f"{c['median']:.4f} / {c['p90']:.4f} / {c['mean']:.4f}" if c else "-"
                                       for c in cells]))
        return "\n".join(lines)
    lines = [line("median / mean", methods)]
    for metric in ALIGNED_METRICS:
        cells = [e["metrics"].get(metric) for e in entries]
        if any(cells):
            lines.append(line(metric, [f"{c['median']:.3f} / {c['mean']:.3f}" if c else "-" for c in cells]))
    lines.append(f"{'scored / skipped':<20}" + "".join(f"{e['scored']:>{width - 6}} / {e['skipped']:<3}" for e in entries))
    return "\n".join(lines)


def write_report(report: Report, outdir: str | Path) -> list[Path]:
    """Write cases.csv, cases.json, summary.json, sheet.png (when a case was scored) and the
    report's other `sheets` (under `sheets/`) into `outdir`, atomically, never over an input photo.
    Returns the paths written."""
    from unmask.images import write_image, write_text

    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise UnmaskError("the output path exists and is not a folder", outdir)
    protect = report.inputs
    written = [
        write_text(outdir / "cases.csv", rows_csv(report.rows), protect=protect),
        write_text(outdir / "cases.json", _json(report.rows), protect=protect),
        write_text(outdir / "summary.json", _json(report.summary), protect=protect),
    ]
    if report.sheet is not None:
        written.append(write_image(outdir / "sheet.png", report.sheet, protect=protect))
    for name, draw in report.sheets.items():
        written.append(write_image(outdir / "sheets" / name, draw(), protect=protect))
    return written


def _json(value: Any) -> str:
    return json.dumps(_finite(value), indent=2) + "\n"


def _finite(value: Any) -> Any:
    """JSON has no infinity: non-finite floats become null (an infinite PSNR: identical pixels)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
