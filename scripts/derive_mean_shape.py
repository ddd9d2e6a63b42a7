"""Derive the mean 68-landmark face shape used to place the landmarks a face mask hides.

    python scripts/derive_mean_shape.py [DATA/people] > src/unmask/face/mean_shape.py

Detects the largest face in every photo under the folder (default ../shared/data/people), aligns
the landmark sets by similarity (Procrustes) and prints a Python module holding their mean, in a
frame with the eye centres at (-0.5, 0) and (0.5, 0). The result is 136 numbers derived from
detections; no photo or part of one is stored.
"""

from __future__ import annotations

import sys
from pathlib import Path


from unmask.face import detect_faces
from unmask.face.hidden import mean_shape
from unmask.images import read_image


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "data" / "people"
    photos = sorted(folder.rglob("*.jpg"))
    shapes = []
    for photo in photos:
        faces = detect_faces(read_image(photo))
        if faces:
            shapes.append(faces[0].landmarks)
    mean = mean_shape(shapes)
    rows = ",\n".join(f"        [{x:.4f}, {y:.4f}]" for x, y in mean)
    print(f'''"""Mean 68-landmark face shape (iBUG 300-W order), eye centres at (-0.5, 0) and (0.5, 0).

Derived numbers, not photos: the Procrustes mean of the landmarks dlib detected on {len(shapes)} unmasked
photos of {len({p.parent for p in photos})} people (the project's test set `people/`), written by
scripts/derive_mean_shape.py.
"""

import numpy as np

MEAN_SHAPE = np.array(
    [
{rows},
    ],
    dtype=np.float64,
)
MEAN_SHAPE.setflags(write=False)''')


if __name__ == "__main__":
    main()
