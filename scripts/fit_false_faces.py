"""Measure every face `detect_faces` finds on the shared photos, with what could tell a false face
from a true one, and fit the rule that drops BlazeFace's false faces (`detect.false_face`).

    nice python scripts/fit_false_faces.py [--data ../shared/data] [--cache FACES.csv] [--sheets DIR]

Faces: every photo of people/, expressions/, mfr2/ and wild/ through `detect.blazeface_faces`
(each BlazeFace face before the rule) or, when BlazeFace finds nothing, dlib's search: the faces
`detect_faces` returned before the rule. Per face (`FIELDS`): the detector ("dlib" when MMOD
confirmed a BlazeFace face, "blazeface" when not, "dlib-search" for dlib's own search), the box,
its width, BlazeFace's score, the share of the box outside the photo, the eye distance in box
widths (`blazeface.eye_share`), BlazeFace's mean score over six views (`blazeface.view_score`),
how far dlib's 68 landmarks are from the mean face shape after a similarity fit (all points;
upper face 17-47), how far dlib's eyes are from BlazeFace's (in eye distances), and the median
CIELAB colour of the skin patches. Written to --cache (CSV through `unmask.tables.rows_csv`) and
read back from there when it exists. The label is not cached: a face is false when its box holds
a point of `FALSE_FACES` (found by eye on --sheets, contact sheets of every face).

The fit (`fit`): over the faces BlazeFace found and MMOD did not confirm (the only ones the rule
may drop), the thresholds E, V of "drop when eye_share >= E and view_score < V" that drop no true
face and at least one false face of usable size, with the widest margin. Printed: the fitted
constants, the same fit leaving out each folder in turn and applied to it, and per folder the
faces before and after with detect.py's constants. No randomness: detection is deterministic and
the fit is an exhaustive search.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from unmask.face import MIN_FACE_SIZE, blazeface, detect_faces
from unmask.face.detect import FALSE_VIEW_SCORE, FRONTAL_EYE_SHARE, blazeface_faces
from unmask.face.hidden import fit_similarity
from unmask.face.mean_shape import MEAN_SHAPE
from unmask.face.skin import visible_skin
from unmask.images import read_image, write_image, write_text
from unmask.tables import rows_csv

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("people", "expressions", "mfr2", "wild")
PATTERNS = {"people": "*/*.jpg", "expressions": "*.jpg", "mfr2": "*/*.png", "wild": "*.jpg"}
FIELDS = ["folder", "photo", "face", "detector", "x0", "y0", "x1", "y1", "width", "photo_w", "photo_h",
          "blaze_score", "confirmed", "outside", "eye_share", "view_score", "shape_rms", "upper_rms", "eye_offset",
          "skin_l", "skin_a", "skin_b"]

FALSE_FACES = {
    # photo: points (x, y) inside a false face's box, found by eye on overlays of every face
    "expressions/happy.jpg": [(100, 150)],  # the building wall left of the face
    "mfr2/m07/3.png": [(26, 53)],  # an ear
    "mfr2/m09/1.png": [(127, 98)],  # an ear
    "wild/m002.jpg": [(40, 65)],  # a box larger than the photo (dlib's small-photo search)
    "wild/m011.jpg": [(295, 430)],  # the coat below a masked face
    "wild/m031.jpg": [(33, 46)],  # the print of a mask
    "wild/m090.jpg": [(267, 209)],  # an ear
    "wild/m147.jpg": [(8, 88)],  # one eye of a face too large to be found
    "wild/m173.jpg": [(23, 16)],  # one eye and the brow of a face twice as wide
    "wild/m177.jpg": [(567, 129)],  # a pillar behind the face
    "wild/m200.jpg": [(251, 175)],  # an ear
    "wild/m221.jpg": [(65, 40)],  # a box larger than the photo (dlib's small-photo search)
}


def outside_share(box: tuple[float, ...], width: int, height: int) -> float:
    """Share of the box's area (x0, y0, x1, y1) outside the photo (0..1)."""
    x0, y0, x1, y1 = box
    inside = max(min(x1, width) - max(x0, 0), 0) * max(min(y1, height) - max(y0, 0), 0)
    return 1.0 - inside / max((x1 - x0) * (y1 - y0), 1e-9)


def shape_misfit(landmarks: np.ndarray, points: slice = slice(0, 68)) -> float:
    """RMS distance of `landmarks[points]` (N, 2) from the mean face shape's after the best
    similarity fit, in eye distances of the mean shape."""
    mean = MEAN_SHAPE[points]
    matrix = fit_similarity(landmarks[points], mean)
    fitted = landmarks[points] @ matrix[:, :2].T + matrix[:, 2]
    return float(np.sqrt(((fitted - mean) ** 2).sum(axis=1).mean()))


def face_rows(folder: str, name: str, image: np.ndarray) -> list[dict]:
    """One row per face of the photo as `detect_faces` found them before the rule (largest first)."""
    h, w = image.shape[:2]
    pairs = blazeface_faces(image) or [(face, None) for face in detect_faces(image)]
    pairs.sort(key=lambda pair: pair[0].width, reverse=True)
    rows = []
    for index, (face, detection) in enumerate(pairs):
        lm = face.landmarks
        eyes = np.array([lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)])
        skin = visible_skin(image, lm)
        lab = cv2.cvtColor(image[skin].reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)[0]
        colour = np.median(lab, axis=0) if skin.any() else np.full(3, np.nan)
        row = {"folder": folder, "photo": name, "face": index,
               "detector": face.detector if detection is not None else "dlib-search",
               "x0": face.box[0], "y0": face.box[1], "x1": face.box[2], "y1": face.box[3],
               "width": face.width, "photo_w": w, "photo_h": h, "outside": outside_share(face.box, w, h),
               "shape_rms": shape_misfit(lm), "upper_rms": shape_misfit(lm, slice(17, 48)),
               "skin_l": float(colour[0]), "skin_a": float(colour[1]), "skin_b": float(colour[2])}
        if detection is not None:
            blaze_eyes = detection.eyes
            distance = float(np.hypot(*(blaze_eyes[1] - blaze_eyes[0])))
            row.update(blaze_score=detection.score, confirmed=int(face.detector == "dlib"),
                       eye_share=blazeface.eye_share(detection), view_score=blazeface.view_score(image, detection),
                       eye_offset=float(np.hypot(*(eyes - blaze_eyes).T).max()) / max(distance, 1e-9))
        rows.append(row)
    return rows


def is_false(row: dict) -> bool:
    """Whether the face of a row holds a point of `FALSE_FACES`."""
    x0, y0, x1, y1 = (float(row[key]) for key in ("x0", "y0", "x1", "y1"))
    return any(x0 <= x <= x1 and y0 <= y <= y1 for x, y in FALSE_FACES.get(f"{row['folder']}/{row['photo']}", []))


def sheets(rows: list[dict], data: Path, out: Path, tile: int = 240, columns: int = 5) -> None:
    """Contact sheets of every face for labelling (`out`/sheet-NNN.png, 4 rows of `columns`
    tiles): the photo around the box (1.6 box widths, black outside) with the box drawn, the face
    `tile` px wide, captioned folder/photo, face index, detector and BlazeFace's score."""
    tiles = []
    for row in rows:
        image = read_image(data / row["folder"] / row["photo"])
        x0, y0, x1, y1 = (float(row[key]) for key in ("x0", "y0", "x1", "y1"))
        side, scale = 1.6 * (x1 - x0), tile / 1.6 / (x1 - x0)
        left, top = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
        matrix = np.array([[scale, 0.0, -left * scale], [0.0, scale, -top * scale]])
        crop = cv2.warpAffine(image, matrix, (tile, tile), flags=cv2.INTER_AREA)
        corner = np.round(np.array([[x0, y0], [x1, y1]]) @ matrix[:, :2].T + matrix[:, 2]).astype(int)
        cv2.rectangle(crop, tuple(corner[0]), tuple(corner[1]), (255, 255, 0), 1)
        caption = np.zeros((36, tile, 3), np.uint8)
        cv2.putText(caption, f"{row['folder']}/{row['photo']} #{row['face']}", (3, 14),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
        cv2.putText(caption, f"{row['detector']} {row['blaze_score']} w{float(row['width']):.0f}", (3, 30),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
        tiles.append(np.concatenate([caption, crop]))
    per_sheet = 4 * columns
    out.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(tiles), per_sheet):
        chunk = tiles[start:start + per_sheet]
        chunk += [np.zeros_like(tiles[0])] * (-len(chunk) % columns)
        lines = [np.concatenate(chunk[i:i + columns], axis=1) for i in range(0, len(chunk), columns)]
        write_image(out / f"sheet-{start // per_sheet:03d}.png", np.concatenate(lines))


def collect(data: Path) -> list[dict]:
    """Rows of every face of every photo of `FOLDERS` under `data`."""
    rows = []
    for folder in FOLDERS:
        for path in sorted((data / folder).glob(PATTERNS[folder])):
            rows += face_rows(folder, str(path.relative_to(data / folder)), read_image(path))
    return rows


def candidates(rows: list[dict]) -> list[dict]:
    """The faces the rule may drop: BlazeFace's faces that dlib's MMOD did not confirm, with their
    label and numbers as floats."""
    return [{**row, "false": is_false(row), "width": float(row["width"]), "eye_share": float(row["eye_share"]),
             "view_score": float(row["view_score"])} for row in rows if row["detector"] == "blazeface"]


def fit(faces: list[dict]) -> tuple[float, float, float]:
    """(E, V, margin): the thresholds of the rule "drop when eye_share >= E and view_score < V" that
    drops no true face of `faces` (`candidates` rows), at least one false face `MIN_FACE_SIZE` px
    wide or more, and keeps the widest margin (the smaller of its two gaps, each between the
    nearest true and dropped false faces on that threshold, in standard deviations of that number
    over `faces`); each threshold half-way across its gap. (0, 0, 0): no such rule."""
    share_sd = float(np.std([f["eye_share"] for f in faces]))
    view_sd = float(np.std([f["view_score"] for f in faces]))
    best = (0.0, 0.0, 0.0)
    for low in sorted({f["eye_share"] for f in faces if f["false"]}):
        floor = min((f["view_score"] for f in faces if f["eye_share"] >= low and not f["false"]), default=1.0)
        caught = [f for f in faces if f["eye_share"] >= low and f["false"] and f["view_score"] < floor]
        if not any(f["width"] >= MIN_FACE_SIZE for f in caught):
            continue
        view = (max(f["view_score"] for f in caught) + floor) / 2
        turned = max((f["eye_share"] for f in faces if not f["false"] and f["view_score"] < view), default=0.0)
        share = (turned + min(f["eye_share"] for f in caught)) / 2
        out = dropped(faces, share, view)
        frontal = min((f["view_score"] for f in faces if not f["false"] and f["eye_share"] >= share), default=1.0)
        margin = min((frontal - max(f["view_score"] for f in out)) / 2 / view_sd,
                      (min(f["eye_share"] for f in out) - turned) / 2 / share_sd)
        if margin > best[2]:
            best = (share, view, margin)
    return best


def dropped(faces: list[dict], share: float, view: float) -> list[dict]:
    """The faces the rule drops with these thresholds."""
    return [f for f in faces if f["eye_share"] >= share and f["view_score"] < view]


def leave_one_folder_out(faces: list[dict]) -> list[dict]:
    """Per folder: the rule fitted on the other folders, applied to this one."""
    table = []
    for folder in FOLDERS:
        share, view, _ = fit([f for f in faces if f["folder"] != folder])
        mine = [f for f in faces if f["folder"] == folder]
        out = dropped(mine, share, view)
        table.append({"held out": folder, "E": round(share, 3), "V": round(view, 3),
                      "false faces": sum(f["false"] for f in mine),
                      "false dropped": sum(f["false"] for f in out),
                      "true dropped": sum(not f["false"] for f in out)})
    return table


def markdown(rows: list[dict]) -> str:
    """A markdown table of dict rows (keys of the first row as the header)."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    lines += ["| " + " | ".join(str(row[key]) for key in keys) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=ROOT.parent / "cache" / "falseface" / "faces.csv")
    parser.add_argument("--sheets", type=Path, help="write contact sheets of every face here (for labelling)")
    args = parser.parse_args()
    if args.cache.is_file():
        rows = list(csv.DictReader(args.cache.open(newline="", encoding="utf-8")))
    else:
        rows = collect(args.data)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.cache, rows_csv(rows, FIELDS))
    if args.sheets:
        sheets(rows, args.data, args.sheets)
    faces = candidates(rows)
    share, view, margin = fit(faces)
    out = dropped(faces, share, view)
    print(f"fitted on every folder: FRONTAL_EYE_SHARE = {share:.3f}, FALSE_VIEW_SCORE = {view:.3f} (drops "
          f"{sum(f['false'] for f in out)} false and {sum(not f['false'] for f in out)} true faces; margin {margin:.2f} sd)")
    print(f"in detect.py: FRONTAL_EYE_SHARE = {FRONTAL_EYE_SHARE}, FALSE_VIEW_SCORE = {FALSE_VIEW_SCORE}\n")
    print(markdown(leave_one_folder_out(faces)) + "\n")
    gone = {(f["folder"], f["photo"], int(f["face"])) for f in dropped(faces, FRONTAL_EYE_SHARE, FALSE_VIEW_SCORE)}
    table = []
    for folder in FOLDERS:
        mine = [r for r in rows if r["folder"] == folder]
        left = [r for r in mine if (r["folder"], r["photo"], int(r["face"])) not in gone]
        wide = [r for r in mine if float(r["width"]) >= MIN_FACE_SIZE]
        table.append({"folder": folder, "photos": len(list((args.data / folder).glob(PATTERNS[folder]))),
                      "faces before": len(mine), "false (by eye)": sum(is_false(r) for r in mine),
                      "dropped": len(mine) - len(left), "of them false": sum(is_false(r) for r in mine) -
                      sum(is_false(r) for r in left), "faces after": len(left),
                      f">= {MIN_FACE_SIZE} px before": len(wide),
                      f">= {MIN_FACE_SIZE} px after": sum(float(r["width"]) >= MIN_FACE_SIZE for r in left)})
    print(markdown(table))
    for folder, photo, face in sorted(gone):
        kept = [r for r in rows if r["folder"] == folder and r["photo"] == photo
                and (folder, photo, int(r["face"])) not in gone]
        now = "" if kept else f"; dlib's search then finds {len(detect_faces(read_image(args.data / folder / photo)))}"
        print(f"dropped {folder}/{photo} face {face}{now}")


if __name__ == "__main__":
    main()
