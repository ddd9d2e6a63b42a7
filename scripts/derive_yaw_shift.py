"""Derive how the hidden jaw line moves with the head's turn, for `unmask.face.hidden`.

    python scripts/derive_yaw_shift.py [DATA/people] > src/unmask/face/yaw_shift.py

Detects the largest face in every photo under the folder (default ../shared/data/people; one
sub-folder per person). For every ordered pair of photos of one person, the second photo's hidden
points are fitted onto the first's visible points by a similarity (`hidden.fitted_hidden`), and
what its jaw points (`hidden.JAW`) miss, in the first photo's eye frame, is regressed on the two
photos' `yaw` difference: one least-squares slope per jaw point and axis. The slopes are made left-right symmetric (a
mirrored face turns the other way). Prints a Python module of these numbers; no photo or part of
one is stored.
"""

from __future__ import annotations

import sys
from itertools import permutations
from pathlib import Path

import numpy as np

from unmask.face import detect_faces
from unmask.face.hidden import HIDDEN, JAW, MIRROR, eye_frame, fitted_hidden, yaw
from unmask.images import read_image


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "data" / "people"
    people: dict[Path, list[np.ndarray]] = {}
    for photo in sorted(folder.rglob("*.jpg")):
        faces = detect_faces(read_image(photo))
        if faces:
            people.setdefault(photo.parent, []).append(faces[0].landmarks)
    turns, misses = [], []
    for shapes in people.values():
        for target, source in permutations(shapes, 2):
            fitted = target.copy()
            fitted[HIDDEN] = fitted_hidden(target, source)
            miss = (target - fitted) @ eye_frame(target)[:, :2].T
            turns.append(yaw(target) - yaw(source))
            misses.append(miss)
    turn, miss = np.array(turns), np.array(misses)
    slope = np.tensordot(turn, miss, axes=(0, 0)) / (turn**2).sum()  # (68, 2), 0 at visible points
    mirrored = slope[MIRROR] * [1.0, -1.0]  # a mirrored face: x of the counterpart, y flips
    slope = ((slope + mirrored) / 2)[JAW]
    rows = ",\n".join(f"        [{x:.4f}, {y:.4f}]" for x, y in slope)
    print(f'''"""How far each hidden jaw point (`unmask.face.hidden.JAW`: landmarks 1-15, in that order) moves
per unit of `hidden.yaw` difference, beyond a similarity fit of the visible points; in eye
distances, eyes level (x to the image's right, y down).

Derived numbers, not photos: least-squares slopes over {len(turn)} ordered pairs of photos of one
person ({len(people)} people of the project's test set `people/`), made left-right symmetric,
written by scripts/derive_yaw_shift.py.
"""

import numpy as np

YAW_SHIFT = np.array(
    [
{rows},
    ]
)
''')


if __name__ == "__main__":
    main()
