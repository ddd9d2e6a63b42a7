"""Real masked photos from the web (../shared/data/wild, 239 photos): how many faces are found, and
how many of those at least `MIN_FACE_SIZE` px wide get a mask region, with the reason when none.

Every face `unmask.face.detect_faces` finds is counted; each one at least `MIN_FACE_SIZE` px wide (box
width) goes through `unmask.region.find_mask_region` (timed). Printed: photos, photos without a
face, faces found, faces wide enough, faces with a region and without (each with the finder's
message), region time per face, wall and CPU (the first face of each worker process includes
loading the models). Written to `-o` (default benchmarks/out/wild; not committed: it shows the
shared photos): `faces.csv`, one row per face, and `sheet-NNN.png`, contact sheets of
every face wide enough: the face's crop upscaled so that the face is about `FACE_PX` px wide,
the photo as it is on the left and the region tinted red and outlined on the right; faces
without a region first (their message written on them), then photo by photo.

    nice python benchmarks/bench_wild.py [-o DIR] [--data DIR] [--limit N] [--per-sheet 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from unmask.face import MIN_FACE_SIZE
from unmask.tables import rows_csv

ROOT = Path(__file__).resolve().parents[1]
FACE_PX = 400
"""Face width on the sheets."""
CROP = 1.5
"""Side of a sheet tile in face widths (the mask, the ears' loops and the collar below the chin)."""


def face_tiles(image: np.ndarray, box: tuple[float, ...], mask: np.ndarray | None) -> np.ndarray:
    """The photo around `box` (x0, y0, x1, y1) upscaled so the face is `FACE_PX` wide, beside the
    same with `mask` (bool (H, W), None = no region) tinted; (side, 2 * side, 3) uint8."""
    from unmask.region.finder import overlay_region

    x0, y0, x1, y1 = box
    side = CROP * (x1 - x0)
    scale = FACE_PX / (x1 - x0)
    size = round(side * scale)
    # photo pixel (x, y) -> tile pixel ((x - left) * scale, (y - top) * scale), black outside
    left, top = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
    matrix = np.array([[scale, 0.0, -left * scale], [0.0, scale, -top * scale]])
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT)
    region = np.zeros((size, size), bool) if mask is None else cv2.warpAffine(
        mask.astype(np.uint8), matrix, (size, size), flags=cv2.INTER_NEAREST).astype(bool)
    return np.concatenate([crop, overlay_region(crop, region)], axis=1)


def look_at(path: Path) -> tuple[list[dict], list[np.ndarray]]:
    """Every face of one photo as a row of `faces.csv`, and the sheet tiles of those at least
    `MIN_FACE_SIZE` px wide (region found, timed), in the same order."""
    from unmask.errors import UnmaskError
    from unmask.face import detect_faces
    from unmask.images import read_image
    from unmask.region import find_mask_region, not_found_message

    image = read_image(path)
    rows, tiles = [], []
    for index, face in enumerate(detect_faces(image)):
        row = {"photo": path.name, "face": index, "width": round(face.width, 1), "detector": face.detector,
               "region": "", "score": "", "seconds": "", "cpu_seconds": "", "message": ""}
        rows.append(row)
        if row["width"] < MIN_FACE_SIZE:
            continue
        start, cpu = time.perf_counter(), time.process_time()
        try:
            found = find_mask_region(image, face)
        except UnmaskError as exc:
            row.update(region="error", message=str(exc))
            tiles.append(face_tiles(image, face.box, None))
            continue
        row.update(region="yes" if found.found else "no", score=round(found.score, 3),
                   seconds=round(time.perf_counter() - start, 3), cpu_seconds=round(time.process_time() - cpu, 3),
                   message="" if found.found else not_found_message(found))
        tiles.append(face_tiles(image, face.box, found.mask if found.found else None))
    return rows, tiles


def label(tile: np.ndarray, lines: list[str]) -> np.ndarray:
    """`lines` written on the tile's top left, yellow on a dark band."""
    out = tile.copy()
    for row, text in enumerate(lines):
        y = 22 + 24 * row
        cv2.rectangle(out, (0, y - 18), (min(out.shape[1], 12 * len(text) + 8), y + 6), (0, 0, 0), -1)
        cv2.putText(out, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 0), 1, cv2.LINE_AA)
    return out


def wrapped(text: str, width: int = 80) -> list[str]:
    """`text` cut into lines of at most `width` characters, at spaces."""
    lines = [""]
    for word in text.split():
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "wild")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "benchmarks" / "out" / "wild")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--per-sheet", type=int, default=3, help="faces per contact sheet")
    parser.add_argument("--workers", type=int, default=1, help="processes (OpenCV on one thread each)")
    args = parser.parse_args()

    from unmask.images import write_image, write_text

    photos = sorted(args.data.glob("*.jpg"))[:args.limit]
    rows, shown, faceless = [], [], []
    with ProcessPoolExecutor(args.workers, initializer=cv2.setNumThreads, initargs=(1,)) as pool:
        for path, (photo_rows, tiles) in zip(photos, pool.map(look_at, photos)):
            rows += photo_rows
            shown += zip([r for r in photo_rows if r["width"] >= MIN_FACE_SIZE], tiles)
            if not photo_rows:
                faceless.append(path.name)
            print(f"{path.name}: {len(photo_rows)} face(s)" + "".join(
                f"; {r['width']:.0f} px {r['region'] or 'small'} {r['score']} {r['seconds']} s {r['cpu_seconds']} cpu"
                for r in photo_rows), flush=True)

    wide = [r for r in rows if r["width"] >= MIN_FACE_SIZE]
    with_region = [r for r in wide if r["region"] == "yes"]
    seconds = np.array([(r["seconds"], r["cpu_seconds"]) for r in wide if r["seconds"] != ""], float).reshape(-1, 2)
    print(f"\nwild: {len(photos)} photos, {len(faceless)} without a face found, {len(rows)} faces found, "
          f"{len(wide)} at least {MIN_FACE_SIZE} px wide")
    print(f"region found for {len(with_region)} of {len(wide)} ({100 * len(with_region) / max(1, len(wide)):.1f} %), "
          f"none for {len(wide) - len(with_region)}")
    if len(seconds):
        for name, column in (("wall", seconds[:, 0]), ("CPU (this process)", seconds[:, 1])):
            print(f"region time per face, {name}: median {np.median(column):.3f} s, mean {column.mean():.3f} s, "
                  f"max {column.max():.3f} s")
    for r in wide:
        if r["region"] != "yes":
            print(f"  no region: {r['photo']} face {r['face']} ({r['width']:.0f} px, evidence {r['score']}): {r['message']}")
    print(f"  photos without a face: {' '.join(faceless) or '-'}")

    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "faces.csv", rows_csv(rows))
    shown.sort(key=lambda item: item[0]["region"] == "yes")  # stable: no region first, then by photo
    for number, start in enumerate(range(0, len(shown), args.per_sheet), start=1):
        tiles = [label(tile, [f"{r['photo']} face {r['face']} {r['width']:.0f} px {r['detector']} "
                              f"evidence {r['score']} {r['seconds']} s", *wrapped(r["message"])])
                 for r, tile in shown[start:start + args.per_sheet]]
        width = max(t.shape[1] for t in tiles)
        sheet = np.concatenate([cv2.copyMakeBorder(t, 0, 4, 0, width - t.shape[1], cv2.BORDER_CONSTANT)
                                for t in tiles])
        write_image(args.out / f"sheet-{number:03d}.png", sheet)
    print(f"wrote {args.out / 'faces.csv'} and {-(-len(shown) // args.per_sheet)} sheets to {args.out}")


if __name__ == "__main__":
    main()
