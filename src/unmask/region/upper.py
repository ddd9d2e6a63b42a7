"""The upper face put back onto the eyes when a face mask pulled dlib's landmarks down.

A mask drawn or worn up to the lower eyelids (dark drawn masks above all) pulls dlib's 68 points
down: its eyes sit on the lower lids or below, its brows and nose bridge follow. BlazeFace's eye
keypoints stay on the eyes there. `upper_face_on_eyes` maps dlib's eye centres onto BlazeFace's by
one similarity transform and moves the brows, nose bridge and eyes with it, so the region finder,
the alignment and the methods all see one consistent upper face.

BlazeFace's eyes are noisier than dlib's (median 6 to 7 % against 2 % of the eye distance on
the template cases of seeds 5 and 9), and on real mfr2 crops they often sit a little higher than
the true eyes (11 of 134 faces more than 0.06 eye distances above dlib's, dlib's on the eyes): the
move is only for faces where the mask's colour covers dlib's eye openings, which the region
finder decides (`region/finder.py`, which then hands the moved landmarks on in `MaskRegion`).
"""

from __future__ import annotations

import numpy as np

from unmask.face.hidden import fit_similarity

UPPER_FACE = np.r_[17:31, 36:48]
"""Indices moved: brows 17-26, nose bridge 27-30, eyes 36-47."""

EYE_OFFSET = -0.04
"""How far dlib's eye centres (the mean of each eye's six points) sit below BlazeFace's eye points,
in eye distances along the face's down direction (negative: above; median over the people/
photos and the template cases of seeds 5 and 9, spread 0.04; the true eyes of the masked template
faces: -0.02)."""

EYE_DRAG = 0.1
"""dlib's eyes this much lower than BlazeFace's (beyond `EYE_OFFSET`, eye distances) were pulled
down by the mask. On the template cases of seeds 5 and 9 whose eye openings lie on the mask's
colour (10 of 82), 0.08 to 0.10 moves the same three (two drawn black, one printed), all better;
0.06 also moves two more, one worse; 0.12 leaves one. Unmasked faces: at most 0.09."""

EYE_DRAG_MAX = 0.5
"""Beyond this the two disagree too much to trust either (BlazeFace on a drawn face): no move."""


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """The two eye centres (2, 2) (x, y) of dlib's 68 landmarks (68, 2): each eye's six points'
    mean, the eye at the smaller x in the image first for a face seen upright."""
    return np.stack([landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)])


def eye_drop(landmarks: np.ndarray, eyes: np.ndarray) -> float:
    """How far dlib's eye centres lie below `eyes` (2, 2) (x, y, smaller x first; BlazeFace's),
    beyond `EYE_OFFSET`, in eye distances along the face's down direction (positive: dlib's lower)."""
    dlib = eye_centres(landmarks)
    across = dlib[1] - dlib[0]
    d = float(np.hypot(*across))
    down = np.array([-across[1], across[0]]) / d
    return float(np.mean((dlib - eyes) @ down)) / d - EYE_OFFSET


def upper_face_on_eyes(landmarks: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """The landmarks (68, 2) with the brows, nose bridge and eyes (`UPPER_FACE`) moved by the
    similarity transform that takes dlib's eye centres onto `eyes` (2, 2) (x, y, smaller x first)
    shifted by `EYE_OFFSET` eye distances; the jaw, lower nose and mouth are kept (the region finder
    reads the mask's outline from the jaw; the hidden points are estimated later, `face.hidden`)."""
    across = eyes[1] - eyes[0]
    target = eyes + EYE_OFFSET * np.array([-across[1], across[0]])
    matrix = fit_similarity(eye_centres(landmarks), target)  # two point pairs: exact
    moved = landmarks.astype(np.float64, copy=True)
    moved[UPPER_FACE] = moved[UPPER_FACE] @ matrix[:, :2].T + matrix[:, 2]
    return moved


def pulled_down(landmarks: np.ndarray, eyes: np.ndarray) -> bool:
    """Whether dlib's eyes lie between `EYE_DRAG` and `EYE_DRAG_MAX` eye distances below `eyes`
    (2, 2) (beyond the usual offset): a mask pulled them down."""
    return EYE_DRAG < eye_drop(landmarks, eyes) < EYE_DRAG_MAX
