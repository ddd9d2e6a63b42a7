"""The turned-head evaluation cases of docs/evaluation.md ("Turned heads"), from a make_cases.py folder.

    python scripts/turned_cases.py DIR/cases.csv [--min-yaw 20] > DIR/turned.csv
    unmask eval --cases DIR/turned.csv -m warp --option shape=3d -o OUT

Every case of the cases.csv is paired with each of its references in turn; a pair is kept when
the head turn (yaw of `shape3d.fit_pose` on the dlib landmarks of the unmasked truth, and of the
reference photo) of the target is at least `--min-yaw` degrees, or differs from the reference's by
at least that much. Written as the same CSV format with the case named `<case>~<reference
photo's stem>` and that one reference; paths stay relative to the cases.csv's folder (so write
the output next to it).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from unmask.face import detect_faces
from unmask.face.shape3d import fit_pose
from unmask.images import read_image


def head_yaw(path: Path) -> float | None:
    """Yaw in degrees of the largest face in the photo, None without one."""
    from unmask.face.mean_shape3d import MEAN_SHAPE3D

    faces = detect_faces(read_image(path))
    return fit_pose(faces[0].landmarks, MEAN_SHAPE3D).angles()[0] if faces else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path)
    parser.add_argument("--min-yaw", type=float, default=20.0)
    args = parser.parse_args()
    folder = args.cases.parent
    with open(args.cases, newline="") as handle:
        rows = list(csv.DictReader(handle))
    yaws: dict[Path, float | None] = {}

    def cached(path: Path) -> float | None:
        if path not in yaws:
            yaws[path] = head_yaw(path)
        return yaws[path]

    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        target = cached(folder / row["truth"])
        if target is None:
            continue
        for reference in row["references"].split(";"):
            other = cached(folder / reference)
            if other is None or (abs(target) < args.min_yaw and abs(target - other) < args.min_yaw):
                continue
            writer.writerow(dict(row, case=f"{row['case']}~{Path(reference).stem}", references=reference))
            print(f"{row['case']}~{Path(reference).stem}: target {target:.1f}, reference {other:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
