"""The target's light on the reference's skin: a smooth gain map from the faces' visible skin.

The warped reference (`unmask.methods.warp`) lies in the target's crop, so at every pixel of the
target's visible skin (cheeks above the mask, forehead, nose bridge, jaw sides, neck) both photos
show the same part of the same face, each under its own light. Their ratio there, after a blur
that leaves only patches (not pores), is the ratio of the two light fields times a constant (skin
tone, exposure, white balance). Light on a face varies slowly across it, so a low-order surface in
face-frame coordinates (origin between the eyes, unit the eye distance, x along the eyes, y down
the face) fits the ratio of the brightness (one gain for the three channels: light changes
brightness, the colour is matched later), and carries it across the hidden lower face:

    log(target brightness / reference brightness) ~ c + a1 x + a2 y + b1 x^2 + b2 xy + b3 y^2

fitted robustly (Huber weights, so glasses, stubble or hair that pass the skin test count less)
with a ridge pull of the quadratic terms towards zero (a plane extrapolates more safely than a
parabola from samples that lie mostly above the mask). The fitted surface is clamped to the range
it takes on the samples (plus `_EXTRAPOLATE`), so far below the samples it does not run away, and
divided by its median over the region: the relighting gives the fill the shape of the target's
light (brighter on the lit side, darker towards a shaded chin); its level and colour are matched
afterwards on the region's border (`unmask.blend`).
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.blend import typical_pixels
from unmask.face.skin import visible_skin
from unmask.metrics import lightness

WORK_SIDE = 128
"""The gain is fitted at about this many pixels a crop side (a smooth surface needs no more)."""
BLUR = 0.012
"""Both photos are blurred by a Gaussian of this fraction of the crop side before their ratio is
taken: patches of light, not pores, specks or small misalignments of the warp."""
RIDGE = (0.0, 0.02, 0.02, 0.2, 0.2, 0.2)
"""Ridge weights (times the sample count) of the terms 1, x, y, x^2, xy, y^2 (x, y in eye
distances): the quadratic terms are pulled harder towards zero than the plane."""
SKIN_FLOOR = (30.0, 10.0, 10.0)
"""A sample pixel must be within this CIELAB (L, a*, b*) distance (or 3 robust deviations) of its
photo's forehead and nose bridge: shading may change the lightness a lot, not the colour."""
MISMATCH_BLUR = 0.04
"""`light_mismatch` compares lightness blurred by a Gaussian of this fraction of the crop side:
patches of light (a rim light, a cast shadow), not features."""
_SHAPE_LIMIT = 0.5  # the gain stays within exp(+-0.5) = 0.61..1.65 of its median over the region
_EXTRAPOLATE = 0.15  # the surface may leave its range on the samples by this much (log gain)
_HUBER = 1.5  # robust deviations beyond which a sample's weight falls off
_MIN_SAMPLES = 40


def face_frame(points: np.ndarray, shape: tuple[int, int], scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Face-frame coordinates (x, y), float (H, W) each, of the pixels of an image of `shape`
    whose face has the 68 landmarks `points` (68, 2) in pixels of an image `scale` times larger:
    origin between the eye centres, unit the eye distance, x towards the right eye, y down."""
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    across = right - left
    distance = max(float(np.hypot(*across)), 1e-6)
    along = across / distance
    down = np.array([-along[1], along[0]])
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    dx = (xx + 0.5) * scale - 0.5 - (left + right)[0] / 2
    dy = (yy + 0.5) * scale - 0.5 - (left + right)[1] / 2
    return (dx * along[0] + dy * along[1]) / distance, (dx * down[0] + dy * down[1]) / distance


def _terms(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)


def gain_map(target: np.ndarray, source: np.ndarray, sample: np.ndarray, points: np.ndarray,
             region: np.ndarray) -> np.ndarray | None:
    """Float (S, S, 1): per pixel, the factor that gives `source` (uint8 (S, S, 3), the reference
    warped into the target's crop) the target's light, relative to its median over `region` (bool
    (S, S), the pixels to be filled): the shape of the light, not its level (the compositing
    matches the level and colour on the region's border, and a gain far from 1 would clip bright
    skin). `target` uint8 (S, S, 3); `sample` bool (S, S) the target's visible skin to learn the
    light from (both photos must also show a colour typical of their own forehead and nose bridge
    there, `unmask.face.skin.visible_skin`, within `SKIN_FLOOR`); `points` (68, 2) the target's
    landmarks in crop pixels. None when fewer than `_MIN_SAMPLES` sample pixels are left."""
    side = target.shape[0]
    factor = max(1, side // WORK_SIDE)
    small = (target.shape[1] // factor, target.shape[0] // factor)
    sigma = max(BLUR * side / factor, 0.5)

    def shrink(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image.astype(np.float32), small, interpolation=cv2.INTER_AREA)

    tgt, src = (cv2.GaussianBlur(shrink(image), (0, 0), sigma) for image in (target, source))
    # a small pixel counts only if all its crop pixels (and its blur's reach) are samples
    keep = cv2.GaussianBlur(shrink(sample), (0, 0), sigma) > 0.97
    for image, blurred in ((target, tgt), (source, src)):
        skin = shrink(visible_skin(image, points)) > 0.5
        keep &= typical_pixels(blurred, skin, SKIN_FLOOR) if skin.sum() >= _MIN_SAMPLES else False
    if keep.sum() < _MIN_SAMPLES:
        return None
    x, y = face_frame(points, small[::-1], factor)
    design = _terms(x[keep], y[keep])
    ratio = np.log1p(tgt[keep].mean(axis=1)) - np.log1p(src[keep].mean(axis=1))
    coef = _robust_ridge(design, ratio)
    fitted = design @ coef
    surface = np.clip(_terms(x, y) @ coef, fitted.min() - _EXTRAPOLATE, fitted.max() + _EXTRAPOLATE)
    inside = shrink(region) > 0.5
    if inside.any():
        surface -= np.median(surface[inside])
    gain = np.exp(np.clip(surface, -_SHAPE_LIMIT, _SHAPE_LIMIT)).astype(np.float32)
    return cv2.resize(gain, (target.shape[1], target.shape[0]), interpolation=cv2.INTER_LINEAR)[:, :, None]


def _robust_ridge(design: np.ndarray, values: np.ndarray, steps: int = 4) -> np.ndarray:
    """Coefficients (K,) of `values` (N,) ~ `design` (N, K) by ridge regression (`RIDGE` x N)
    with Huber weights re-estimated `steps` times."""
    ridge = np.diag(np.asarray(RIDGE) * len(values))
    weights = np.ones(len(values))
    for _ in range(steps):
        weighted = design * weights[:, None]
        coef = np.linalg.solve(design.T @ weighted + ridge, weighted.T @ values)
        residual = values - design @ coef
        scale = max(1.4826 * float(np.median(np.abs(residual - np.median(residual)))), 1e-3)
        weights = np.minimum(1.0, _HUBER * scale / np.maximum(np.abs(residual), 1e-9))
    return coef


def relight(target: np.ndarray, source: np.ndarray, sample: np.ndarray, points: np.ndarray,
            region: np.ndarray) -> np.ndarray:
    """`source` (uint8 (S, S, 3)) under the shape of the target's light (`gain_map`), uint8;
    unchanged when the photos show too little skin to learn the light from."""
    gain = gain_map(target, source, sample, points, region)
    if gain is None:
        return source
    return np.clip(np.round(source.astype(np.float32) * gain), 0, 255).astype(np.uint8)


def light_mismatch(target: np.ndarray, relit: np.ndarray, sample: np.ndarray) -> float:
    """What the relighting could not take away, in L*: the 90th percentile over `sample` (bool
    (S, S), the visible head's skin outside the region) of |blurred L* relit - blurred L* target -
    their median difference| (uint8 (S, S, 3) crops), computed at about `WORK_SIDE` px a side. 0
    when the relit reference's visible face has the target's light; a rim light or a cast shadow
    that the target does not show scores about its depth. NaN when the sample is empty."""
    factor = max(1, target.shape[0] // WORK_SIDE)
    size = (target.shape[1] // factor, target.shape[0] // factor)
    where = cv2.resize(sample.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5
    if not where.any():
        return float("nan")
    sigma = MISMATCH_BLUR * size[1]
    blurred = [cv2.GaussianBlur(lightness(cv2.resize(image, size, interpolation=cv2.INTER_AREA)), (0, 0), sigma)
               for image in (relit, target)]
    difference = (blurred[0] - blurred[1])[where]
    return float(np.percentile(np.abs(difference - np.median(difference)), 90))
