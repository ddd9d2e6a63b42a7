"""Where is the face mask? The mask region of a photo, from its landmarks, colours and edges.

The landmarks of a masked face are reliable only above the nose tip, so the prior is built from
the eyes, brows and nose bridge (a face frame: eye line, inter-ocular distance) plus the jaw
points the predictor fits to the mask's outline. GrabCut, seeded with that prior and with skin
samples from around the eyes as certain background, finds the boundary from the photo's colours
and edges. A photo is reported as unmasked when the lower face looks like skin with lips.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask.errors import UnmaskError

_WORK_FACE_WIDTH = 160
"""GrabCut runs on a copy where the inter-ocular distance is scaled to about 0.4 x this (px)."""


@dataclass
class MaskRegion:
    """The face-mask region of one photo.

    mask: bool (H, W) at the photo's own size, True = face mask (all False when not `found`).
    found: False when the photo shows no face mask.
    score: evidence for a mask in [0, 1] (how unlike skin-with-lips the lower face is).
    coverage: fraction of the nose-tip-to-chin area the region covers, in [0, 1].
    above_eyes: fraction of the region's pixels above the lower eyelids (should be about 0).
    See `region_checks`.
    """

    mask: np.ndarray
    found: bool
    score: float
    coverage: float
    above_eyes: float


@dataclass
class _Frame:
    """A face frame from the reliable upper landmarks: origin between the eyes, unit vectors
    `right` and `down`, and the inter-ocular distance `d` (photo pixels)."""

    origin: np.ndarray
    right: np.ndarray
    down: np.ndarray
    d: float

    def to_photo(self, coords: np.ndarray) -> np.ndarray:
        """Frame coordinates (N, 2) in units of d -> photo pixels (N, 2)."""
        coords = np.atleast_2d(coords)
        return self.origin + self.d * (coords[:, :1] * self.right + coords[:, 1:2] * self.down)

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Photo pixels (N, 2) -> frame coordinates (N, 2) in units of d."""
        rel = np.atleast_2d(points) - self.origin
        return np.stack([rel @ self.right, rel @ self.down], axis=1) / self.d


def find_mask_region(image: np.ndarray, face_or_landmarks, min_score: float = 0.5) -> MaskRegion:
    """Find the face-mask region of one face.

    image: uint8 RGB (H, W, 3). face_or_landmarks: a `unmask.face.Face` or float (68, 2) (x, y)
    landmarks in photo pixels. `min_score` is the mask-evidence threshold below which the photo
    is reported as unmasked. Returns a `MaskRegion` whose `mask` is bool (H, W).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    landmarks = np.asarray(getattr(face_or_landmarks, "landmarks", face_or_landmarks), dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {landmarks.shape}")
    height, width = image.shape[:2]
    frame = _face_frame(landmarks)

    # work on a crop around the lower face, scaled so the face has a fixed size
    scale = min(4.0, 0.4 * _WORK_FACE_WIDTH / frame.d)
    corners = frame.to_photo(np.array([[-2.2, -1.2], [2.2, -1.2], [-2.2, 3.4], [2.2, 3.4]]))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    crop = image[y0:y1, x0:x1]
    size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    local = _Frame((frame.origin - (x0, y0)) * scale, frame.right, frame.down, frame.d * scale)
    points = (landmarks - (x0, y0)) * scale

    seeds = _prior(local, points, small.shape[:2])
    score = _mask_evidence(small, local, points)
    segment = _grabcut(small, seeds)
    segment = _clean(segment, seeds, local)

    full = np.zeros((height, width), bool)
    if score >= min_score and segment.any():
        up = cv2.resize(segment.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        full[y0:y1, x0:x1] = up >= 0.5
    coverage, above = region_checks(full, landmarks)
    return MaskRegion(mask=full, found=bool(full.any()), score=float(score), coverage=coverage, above_eyes=above)


def region_checks(mask: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """Sanity of a mask region (bool (H, W)) for a face with landmarks (68, 2).

    Returns (coverage, above_eyes): the fraction of the nose-tip-to-chin area (under the nose
    tip, above the chin, about mouth-wide; the part inside the photo) that the region covers,
    and the fraction of the region's pixels that lie above the lower eyelids. Both in [0, 1].
    """
    frame = _face_frame(landmarks)
    nose = float(np.clip(frame.to_frame(landmarks[33])[0, 1], 0.6, 1.2)) + 0.08
    chin = float(np.clip(frame.to_frame(landmarks[8])[0, 1], nose + 0.4, 2.2)) - 0.12
    area = _polygon_mask(frame, np.array([[-0.45, nose], [0.45, nose], [0.25, chin], [-0.25, chin]]), mask.shape)
    coverage = float((mask & area).sum() / max(1, area.sum()))
    eye_line = frame.to_frame(landmarks[[40, 41, 46, 47]])[:, 1].max()
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return coverage, 0.0
    depth = frame.to_frame(np.stack([xs, ys], axis=1).astype(np.float64))[:, 1]
    return coverage, float((depth < eye_line).mean())


def load_user_mask(path, shape: tuple[int, int]) -> np.ndarray:
    """A user's own mask image file (white = mask region) as bool (H, W) for a photo of `shape`
    (H, W); see `mask_from_image`."""
    from unmask.images import read_image

    return mask_from_image(read_image(path), shape, path)


def mask_from_image(image: np.ndarray, shape: tuple[int, int], path) -> np.ndarray:
    """A decoded mask image, uint8 (h, w, 3) (white = mask region), as bool (H, W) for a photo of
    `shape` (H, W). An image of a different size is resized (nearest neighbour) when it has the
    same aspect ratio. Raises `UnmaskError` naming `path` when its aspect differs or it marks no
    pixel.
    """
    height, width = int(shape[0]), int(shape[1])
    h, w = image.shape[:2]
    if (h, w) != (height, width):
        if abs(w / h - width / height) > 0.01 * width / height:
            raise UnmaskError(
                f"mask image is {w}x{h} but the photo is {width}x{height}: the aspect ratios differ, "
                "so it cannot be the photo's mask",
                path,
            )
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_NEAREST)
    mask = image.max(axis=2) >= 128
    if not mask.any():
        raise UnmaskError("mask image marks no region (white = face mask; it is all black)", path)
    return mask


# Frame coordinates (units of inter-ocular distance; origin between the eyes, y down) of the
# lower-face area any face mask covers: just under the nose to just above the chin.
_EXPECTED_CORE = np.array([[-0.55, 1.05], [0.55, 1.05], [0.45, 1.6], [0.0, 1.75], [-0.45, 1.6]])


def _face_frame(landmarks: np.ndarray) -> _Frame:
    left_eye = landmarks[36:42].mean(axis=0)
    right_eye = landmarks[42:48].mean(axis=0)
    right = right_eye - left_eye
    d = float(np.linalg.norm(right))
    if d < 1e-6:
        raise ValueError("degenerate landmarks: both eyes at the same point")
    right = right / d
    down = np.array([-right[1], right[0]])
    return _Frame(0.5 * (left_eye + right_eye), right, down, d)


def _polygon_mask(frame: _Frame, polygon: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Fill a frame-coordinate polygon (N, 2) into a bool mask of `shape`."""
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(frame.to_photo(polygon)).astype(np.int32)], 1)
    return canvas.astype(bool)


def _prior(frame: _Frame, points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """GrabCut seed labels (h, w) uint8 from the landmark geometry."""
    seeds = np.full(shape, cv2.GC_BGD, np.uint8)
    jaw = frame.to_frame(points[0:17])
    # the jaw the predictor fits is trusted only within bounds of a plausible face
    jaw[:, 0] = np.clip(jaw[:, 0], -1.6, 1.6)
    jaw[:, 1] = np.clip(jaw[:, 1], -0.2, 2.6)
    centre = np.array([0.0, 1.0])
    out = jaw - centre
    out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
    eye_line = max(frame.to_frame(points[[40, 41, 46, 47]])[:, 1].max(), 0.1) + 0.08
    wide_jaw = jaw + 0.45 * out + [0, 0.35] * (out[:, 1:2] > 0)
    wide = np.concatenate([[[wide_jaw[0, 0], eye_line]], wide_jaw, [[wide_jaw[-1, 0], eye_line]]])
    cv2.fillPoly(seeds, [np.round(frame.to_photo(wide)).astype(np.int32)], int(cv2.GC_PR_BGD))
    probable = jaw + 0.12 * out + [0, 0.12] * (out[:, 1:2] > 0)
    nose_top = eye_line + 0.15
    probable = np.concatenate([[[probable[1, 0], nose_top]], probable[1:16], [[probable[15, 0], nose_top]]])
    cv2.fillPoly(seeds, [np.round(frame.to_photo(probable)).astype(np.int32)], int(cv2.GC_PR_FGD))
    core = np.array([[-0.4, 1.25], [0.4, 1.25], [0.35, 1.55], [0.0, 1.65], [-0.35, 1.55]])
    cv2.fillPoly(seeds, [np.round(frame.to_photo(core)).astype(np.int32)], int(cv2.GC_FGD))
    # skin samples: between the eyes and the forehead are certain background
    seeds[_polygon_mask(frame, _SKIN_PATCHES[0], shape)] = cv2.GC_BGD
    seeds[_polygon_mask(frame, _SKIN_PATCHES[1], shape)] = cv2.GC_BGD
    above = _polygon_mask(frame, np.array([[-3, -3], [3, -3], [3, eye_line], [-3, eye_line]]), shape)
    seeds[above] = cv2.GC_BGD
    return seeds


# skin reference patches (frame coordinates): the nose bridge between the eyes, the forehead
_SKIN_PATCHES = (
    np.array([[-0.12, -0.1], [0.12, -0.1], [0.1, 0.15], [-0.1, 0.15]]),
    np.array([[-0.35, -0.75], [0.35, -0.75], [0.35, -0.5], [-0.35, -0.5]]),
)


def _grabcut(image: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    labels = seeds.copy()
    if not (labels == cv2.GC_FGD).any() or not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        return np.zeros(seeds.shape, bool)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    cv2.setRNGSeed(0)  # GrabCut's k-means starts from OpenCV's random state: the same photo, the same region
    cv2.grabCut(bgr, labels, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))


def _clean(segment: np.ndarray, seeds: np.ndarray, frame: _Frame) -> np.ndarray:
    """Smooth the GrabCut answer and keep the piece that holds the mouth/chin core."""
    radius = max(1, round(frame.d * 0.05))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    seg = cv2.morphologyEx(segment.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    seg = cv2.morphologyEx(seg, cv2.MORPH_CLOSE, kernel)
    count, labels = cv2.connectedComponents(seg)
    core = seeds == cv2.GC_FGD
    keep = np.zeros(segment.shape, bool)
    for label in range(1, count):
        piece = labels == label
        if (piece & core).any():
            keep |= piece
    return _fill_holes(keep)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill every hole of a bool mask (pixels not reachable from the border)."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return mask | (flood[1:-1, 1:-1] == 0)


def _mask_evidence(image: np.ndarray, frame: _Frame, points: np.ndarray) -> float:
    """How unlike an unmasked lower face the photo is, in [0, 1] (0.5 = undecided).

    Cues, combined by a logistic model fitted on unmasked photos (people/, mfr2/) against real
    (mfr2/) and synthetic masks: the colour distance between the skin around the eyes and the
    lower face; lips redder and darker than the skin around them (a mask shows neither); the
    lower face's colour spread (plain fabric is smoother than skin, prints and textured fabric
    are rougher); a lower face less red than the skin (blue, green, white, grey fabric).
    Unmasked photos count double in the fit, to keep false alarms rare.
    """
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float64)
    lab[..., 0] *= 100 / 255
    shape = image.shape[:2]
    skin = _polygon_mask(frame, _SKIN_PATCHES[0], shape) | _polygon_mask(frame, _SKIN_PATCHES[1], shape)
    lower = _polygon_mask(frame, _EXPECTED_CORE, shape)
    lips = np.zeros(shape, np.uint8)
    cv2.fillPoly(lips, [np.round(points[48:60]).astype(np.int32)], 1)
    ring = lower & ~cv2.dilate(lips, np.ones((5, 5), np.uint8), iterations=2).astype(bool)
    lips = lips.astype(bool)
    if not (skin.any() and lower.any() and lips.any() and ring.any()):
        return 0.5
    difference = float(np.linalg.norm(np.median(lab[skin], axis=0) - np.median(lab[lower], axis=0)))
    lip_l, lip_a, _ = np.median(lab[lips], axis=0) - np.median(lab[ring], axis=0)
    spread = float(lab[lower].std(axis=0).mean())
    cool = float(np.median(lab[skin][:, 1]) - np.median(lab[lower][:, 1]))
    smooth, textured = max(0.0, 5 - spread) / 5, max(0.0, spread - 11) / 5
    logit = (2.18 * difference / 20 - 2.11 * lip_a / 10 + 0.56 * lip_l / 10 + 5.49 * smooth
             + 3.02 * textured + 2.91 * max(0.0, cool - 6) / 5 - 3.25)
    return float(1 / (1 + np.exp(-logit)))


def overlay_region(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The photo (H, W, 3) uint8 with the region (bool (H, W)) tinted red and outlined, to check it."""
    out = image.astype(np.float64)
    out[mask] = 0.55 * out[mask] + 0.45 * np.array([255.0, 0.0, 0.0])
    out = np.round(out).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    width = max(1, round(max(image.shape[:2]) / 400))
    cv2.drawContours(out, contours, -1, (255, 255, 0), width)
    return out
