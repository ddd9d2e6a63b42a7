"""Real masks: the whole pipeline on every masked photo of ../shared/data/mfr2, run as an
`unmask batch` manifest, and a contact sheet of all of them to look at.

For each person, the unmasked photos are the references, except that a person with two or more
keeps the last one apart as the judge: the identity distance of the result to the judge (dlib's
plain descriptor, both faces detected; lower = more like the person) against that of the masked
photo. Printed: targets processed (issue 11 asks for at least 98 %), every failure with its
message, and the medians. Written to `--out` (default benchmarks/out/mfr2; not committed: it shows
the shared photos): the batch's own output and report, and `sheet-N.png`, every target as
masked | result (320 px tiles with the case and its judge distance), failures first, then worst
judge distance first, then the targets without a judge. `--face-px 480` makes sheets to judge
by eye (docs/evaluation.md: 400 px a face or more; one target a row, three rows a sheet).

    python benchmarks/bench_mfr2.py [--workers 2] [--method warp] [--out DIR] [--face-px 480]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MFR2 = ROOT.parent / "shared" / "data" / "mfr2"
FACE_PX = 160


def write_manifest(out: Path) -> tuple[Path, dict[str, Path]]:
    """The manifest of every masked mfr2 photo (absolute paths) and {target key: judge photo}."""
    with open(MFR2 / "labels.csv", newline="") as handle:
        labels = list(csv.DictReader(handle))
    persons: dict[str, list[dict[str, str]]] = {}
    for row in labels:
        persons.setdefault(row["person"], []).append(row)
    rows, judges = [], {}
    for person, items in sorted(persons.items()):
        unmasked = [MFR2 / person / r["file"] for r in items if r["mask"] == "no-mask"]
        judge = unmasked.pop() if len(unmasked) >= 2 else None
        for r in items:
            if r["mask"] == "no-mask" or not unmasked:
                continue
            key = f"{person}/{r['file']}"
            rows.append({"target": key, "references": ";".join(str(p) for p in unmasked), "mask_kind": r["mask"]})
            if judge is not None:
                judges[key] = judge
    targets = out / "targets"
    for row in rows:  # the manifest's targets are relative paths: symbolic links into mfr2
        link = targets / row["target"]
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(MFR2 / row["target"])
        row["target"] = f"targets/{row['target']}"
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["target", "references", "mask_kind"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest, {f"targets/{key}": judge for key, judge in judges.items()}


def descriptor(image: np.ndarray) -> np.ndarray | None:
    """dlib's plain identity descriptor (128,) of the photo's largest face, None without one."""
    from unmask.face import detect_faces, face_descriptor

    faces = detect_faces(image)
    return face_descriptor(image, faces[0]) if faces else None


def judge_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Identity distance of two descriptors (nan when a face was missing)."""
    from unmask.face import identity_distance

    return math.nan if a is None or b is None else identity_distance(a, b)


def tile(masked: np.ndarray, result: np.ndarray | None, label: str, half: int = FACE_PX) -> np.ndarray:
    """masked | result (a grey square for a failure), each `half` px square, `label` written on top."""
    left = cv2.resize(masked, (half, half), interpolation=cv2.INTER_CUBIC)
    right = np.full_like(left, 90) if result is None else cv2.resize(result, (half, half), interpolation=cv2.INTER_CUBIC)
    out = np.concatenate([left, right], axis=1)
    cv2.putText(out, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 0), 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--method", default="warp")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "mfr2")
    parser.add_argument("--face-px", type=int, default=FACE_PX, help="side of each face on the sheets")
    args = parser.parse_args()
    columns = max(1, 1280 // (2 * args.face_px))
    rows_per_sheet = max(3, 1280 // args.face_px)

    from unmask.batch import Settings, make_executor, run_batch
    from unmask.images import read_image, write_image

    args.out.mkdir(parents=True, exist_ok=True)
    manifest, judges = write_manifest(args.out)
    results = args.out / "results"
    with make_executor(args.workers) as executor:
        run_batch(manifest, results, Settings(method=args.method), executor)
    report = json.loads((results / "report.json").read_text())
    rows = report["targets"]

    scored, judged = [], {path: descriptor(read_image(path)) for path in set(judges.values())}
    for row in rows:
        masked = read_image(args.out / row["target"])
        result = read_image(results / row["output"]) if row["status"] == "done" else None
        judge = judges.get(row["target"])
        before = after = math.nan
        if judge is not None:
            before = judge_distance(descriptor(masked), judged[judge])
            after = judge_distance(descriptor(result), judged[judge]) if result is not None else before
        scored.append((row, masked, result, before, after))

    done = [s for s in scored if s[2] is not None]
    print(f"mfr2 masked photos: {len(rows)}, processed {len(done)} ({100 * len(done) / len(rows):.1f} %), "
          f"method {args.method}")
    for row, *_ in scored:
        if row["status"] != "done":
            print(f"  {row['status']}: {row['target']}: {row.get('error', '')}")
    pairs = np.array([(b, a) for _, _, _, b, a in scored if np.isfinite(b) and np.isfinite(a)])
    if len(pairs):
        print(f"identity distance to the held-out photo ({len(pairs)} targets with one): masked median "
              f"{np.median(pairs[:, 0]):.3f}, result median {np.median(pairs[:, 1]):.3f}; "
              f"result closer in {int((pairs[:, 1] < pairs[:, 0]).sum())}")

    def order(item):
        row, _, result, _, after = item
        return (result is not None, not np.isfinite(after), -after if np.isfinite(after) else 0.0)

    tiles = [tile(masked, result, f"{row['target'][8:]} {row['status']} {after:.2f}", args.face_px)
             for row, masked, result, _, after in sorted(scored, key=order)]
    per_sheet = columns * rows_per_sheet
    for number, start in enumerate(range(0, len(tiles), per_sheet), start=1):
        chunk = tiles[start:start + per_sheet]
        chunk += [np.zeros_like(tiles[0])] * (-len(chunk) % columns)
        grid = np.concatenate([np.concatenate(chunk[i:i + columns], axis=1) for i in range(0, len(chunk), columns)])
        print(f"sheet: {write_image(args.out / f'sheet-{number}.png', grid)}")


if __name__ == "__main__":
    main()
