"""Is there a face mask? How unlike an unmasked lower face a photo's lower face is.

Colour cues measured in the face frame (`unmask.region.frame`), combined by a logistic model fitted
on unmasked and masked faces; see `mask_evidence` and docs/region.md ("Mask or no mask?").
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.region.frame import FaceFrame, polygon_mask
from unmask.face.skin import skin_patches, visible_skin

# Frame coordinates (units of inter-ocular distance; origin between the eyes, y down) of the
# lower-face area any face mask covers: just under the nose to just above the chin.
_EXPECTED_CORE = np.array([[-0.55, 1.05], [0.55, 1.05], [0.45, 1.6], [0.0, 1.75], [-0.45, 1.6]])


def skin_claimed(fabric: np.ndarray, points: np.ndarray) -> float:
    """Share of the skin samples (`skin_patches`: bridge, forehead) of the face with landmarks
    `points` (68, 2) whose colour the mask's colour model (`fabric`, bool (h, w), same pixels)
    claims, in [0, 1]: about 0 for a mask, high when it learnt skin."""
    skin = skin_patches(points, fabric.shape)
    return float(fabric[skin].mean()) if skin.any() else 0.0


def network_cue(probability: np.ndarray, frame: FaceFrame) -> float:
    """The region network's mean mask probability over the lower face any mask covers (from just
    under the nose to just above the chin), in [0, 1]. probability: float (h, w) in [0, 1];
    `frame` the face frame on its pixels (`unmask.region.net.grid_frame` for its own grid)."""
    lower = polygon_mask(frame, _EXPECTED_CORE, probability.shape)
    return float(probability[lower].mean()) if lower.any() else 0.0


def mask_evidence(image: np.ndarray, frame: FaceFrame, points: np.ndarray, fabric: np.ndarray) -> float:
    """How unlike an unmasked lower face the photo is, in [0, 1] (0.5 = undecided).

    Cues, combined by a logistic model: the colour distance between the skin around the eyes
    (`skin.visible_skin`: without a sample a hat or glasses cover) and the lower face; lips
    redder and darker than the skin around them (a mask shows neither); the lower face's
    colour spread (plain fabric is smoother than skin, prints and textured fabric
    are rougher); a lower face less red (blue, green, white, grey fabric) or much redder (pink
    fabric) than the skin; the share of the skin samples that the cut's own mask colour model
    (`fabric`, bool (h, w)) claims (on an unmasked face it learnt skin, so it claims them).
    Fitted on unmasked photos (people/, mfr2/) against real (mfr2/) masks, synthetic masks and
    template cases made with seeds 5 and 9 (the reported seed-0 cases left out), unmasked photos
    counted double to keep false alarms rare; leaving out one person at a time it misjudges 7
    of 362 faces (2 unmasked), against 11 for the previous cues. Then a printed-fabric cue, set
    apart from the fit (`_colour_edges`): a lower face with many colour edges is printed
    fabric whatever its mean colour, and this outweighs motifs that look like lips. And a lower
    face lighter than the skin around the eyes (`_LIGHTER_WEIGHT`): white fabric on pale skin.
    """
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float64)
    lab[..., 0] *= 100 / 255
    shape = image.shape[:2]
    skin = visible_skin(image, points)
    lower = polygon_mask(frame, _EXPECTED_CORE, shape)
    lips = np.zeros(shape, np.uint8)
    cv2.fillPoly(lips, [np.round(points[48:60]).astype(np.int32)], 1)
    ring = lower & ~cv2.dilate(lips, np.ones((5, 5), np.uint8), iterations=2).astype(bool)
    lips = lips.astype(bool)
    if not (skin.any() and lower.any() and lips.any() and ring.any()):
        return 0.5
    skin_colour, lower_colour = np.median(lab[skin], axis=0), np.median(lab[lower], axis=0)  # (L, a, b)
    difference = float(np.linalg.norm(skin_colour - lower_colour))
    lip_l, lip_a, _ = np.median(lab[lips], axis=0) - np.median(lab[ring], axis=0)
    spread = float(lab[lower].std(axis=0).mean())
    cool = float(skin_colour[1] - lower_colour[1])
    smooth, textured = max(0.0, 5 - spread) / 5, max(0.0, spread - 11) / 5
    claimed = skin_claimed(fabric, points)
    printed = max(0.0, _colour_edges(lab, _print_area(frame, points, shape)) - _PRINT_SHARE) / 0.1
    lighter = min(1.0, max(0.0, float(lower_colour[0] - skin_colour[0])) / 5)
    logit = (1.66 * difference / 20 - 2.26 * lip_a / 10 + 0.31 * lip_l / 10 + 6.68 * smooth
             + 3.49 * textured + 3.86 * max(0.0, cool - 6) / 5 + 1.21 * max(0.0, -cool - 6) / 5
             - 3.52 * claimed + _PRINT_WEIGHT * printed + _LIGHTER_WEIGHT * lighter - 2.18)
    return float(1 / (1 + np.exp(-logit)))


def with_network(colour: float, cue: float) -> float:
    """The mask evidence in [0, 1] from the colour cues' (`mask_evidence`) and the region network's
    mean probability on the lower face (`network_cue`): the larger of the colour evidence and a
    logistic curve of the network's cue (`_NETWORK_SLOPE`, `_NETWORK_AT`), so that a mask either
    one sees counts and an unmasked face needs both to say so."""
    return max(colour, float(1 / (1 + np.exp(-_NETWORK_SLOPE * (cue - _NETWORK_AT)))))


_NETWORK_SLOPE = 13.16
_NETWORK_AT = 0.576
"""The logistic curve of the network's cue in `with_network`: evidence 0.5 at a mean probability
of `_NETWORK_AT` on the lower face. Fitted by `scripts/fit_mask_evidence.py` (a logistic
regression on the cue alone, unmasked faces weighted 4) on 123 template and procedural cases
(seeds 2, 7, 3; cues 0.75-1.0 but for one wrong face, 0.14) and 48 unmasked photos (people/,
expressions/; cues 0 but for a grey beard, 0.41, and a detection beside a face, 0.52). Checked on
what it never saw: mfr2's 48 unmasked crops all 0.0; on wild/ it finds 4 masks the colours
missed (cues 0.84-1.0) and none of its unmasked bystander or false detections (docs/region.md,
"Eighth pass")."""

_LIGHTER_WEIGHT = 4.2
"""Logit for a lower face at least 5 L (CIELAB) lighter than the visible skin around the eyes,
proportionally less for less. An unmasked lower face is darker (lips, the nose's shadow, beard):
on 96 unmasked photos (people/, expressions/, mfr2 no-mask) it is at most 1.2 L lighter, 5.3 L
darker at the 95th percentile. Fitted as the one weight on top of the other cues on those and
250 masked faces (mfr2, template cases of seeds 2, 5, 7, 9), leaving out one person at a time:
0 faces misjudged (1 before: a white mask on pale skin, 6 L lighter, scored 0.15). Capped at
5 L, so that a light beard adds no more than that."""

_PRINT_AREA = np.array([[-0.8, 0.6], [0.8, 0.6], [0.75, 1.4], [0.45, 1.7], [0.0, 1.8], [-0.45, 1.7], [-0.75, 1.4]])
"""Frame coordinates of the area searched for printed motifs: cheeks, upper lip and chin, wider
than `_EXPECTED_CORE` so that sparse motifs fall in it (the lips and the nose are left out)."""
_PRINT_EDGE = 5.0
"""A pixel lies on a colour edge when its CIELAB chroma (a, b) changes by more than this per
pixel at the working scale (d = 64 px), after a 3 px blur: the motifs' outlines on printed
fabric. Skin, stubble and shadows stay under it."""
_PRINT_SHARE = 0.12
"""Share of colour-edge pixels in `_print_area` above which the print cue counts: unmasked faces
reach at most 0.07 (people/, mfr2/ no-mask), printed procedural masks 0.15-0.56 (seeds 3 and 7,
and prints on fabric of the person's own skin colour on every people/ photo)."""
_PRINT_WEIGHT = 8.0
"""Logit per 0.1 of colour-edge share above `_PRINT_SHARE` (lowest printed share: about +3;
a motif on the lips as red as lips takes away about 4)."""


def _print_area(frame: FaceFrame, points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bool (h, w) of `shape`: `_PRINT_AREA` of the face with landmarks `points` (68, 2), without
    the lips and the nose's tip and wings (their own colour edges), grown by 4 px."""
    features = np.zeros(shape, np.uint8)
    for part in (points[48:60], points[30:36]):
        cv2.fillPoly(features, [np.round(cv2.convexHull(part.astype(np.float32))).astype(np.int32)], 1)
    features = cv2.dilate(features, np.ones((5, 5), np.uint8), iterations=2).astype(bool)
    return polygon_mask(frame, _PRINT_AREA, shape) & ~features


def _colour_edges(lab: np.ndarray, region: np.ndarray) -> float:
    """Share of the pixels of `region` (bool (h, w)) on a colour edge of the CIELAB image `lab`
    (float (h, w, 3), a and b in CIELAB units): chroma gradient above `_PRINT_EDGE`; in [0, 1]
    (0 for an empty region)."""
    if not region.any():
        return 0.0
    ys, xs = np.nonzero(region)
    y0, y1, x0, x1 = max(ys.min() - 2, 0), ys.max() + 3, max(xs.min() - 2, 0), xs.max() + 3
    chroma = cv2.GaussianBlur(np.ascontiguousarray(lab[y0:y1, x0:x1, 1:]), (3, 3), 0)
    # Sobel's 3x3 kernel weighs a one-per-pixel ramp by 8
    squared = (cv2.Sobel(chroma, cv2.CV_64F, 1, 0) ** 2 + cv2.Sobel(chroma, cv2.CV_64F, 0, 1) ** 2).sum(axis=2)
    return float((np.sqrt(squared)[region[y0:y1, x0:x1]] > 8 * _PRINT_EDGE).mean())
