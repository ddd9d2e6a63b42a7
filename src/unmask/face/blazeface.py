"""BlazeFace, MediaPipe's face detector, which finds faces under black, white and N95 masks that
dlib's detectors miss (it keys on the eyes and the head's outline).

The two TFLite models (`face_detection_full_range.tflite`, 192x192 input, faces down to about a
tenth of the input; `face_detection_short_range.tflite`, 128x128, close-up faces) are MediaPipe's
(Apache-2.0) and ship inside this package, in `face/blazeface_models/` with their licence and
`SOURCE.md` (where they were copied from, sizes, sha256). OpenCV's TFLite reader runs them. A missing
or unreadable model file is a broken install: `UnmaskError` naming the file.

Search: both models on the whole photo (letterboxed into a square), then both again on a square
window `ZOOM` times the size of each face scoring at least `SCORE` (or, when none does, of the
best candidates scoring at least `CANDIDATE`): there the face fills a good part of the model's
input, so a small face becomes large enough to be sure of and the eyes land on the eyes (on the
whole photo, a mask reaching up to the eyes can shift them onto the brows).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from unmask.errors import UnmaskError

SCORE = 0.5
"""Detections scoring at least this are faces (MediaPipe's own default threshold)."""

CANDIDATE = 0.2
"""Weaker detections are looked at again, enlarged, when nothing scores `SCORE`."""

ZOOM = 3.0
"""Side of the second-look window in detection box widths."""

MAX_CANDIDATES = 3
"""At most this many candidates below `SCORE` get a second look."""

MIN_EYE_SHARE = 0.2
"""Least eye distance in box widths (real faces on the test sets: 0.27 and more, frontal 0.4)."""

_NMS_IOU = 0.3
"""Detections overlapping more than this are one face (MediaPipe's weighted NMS uses 0.3)."""

_MODELS = {
    # name: (file, input side, ((stride, anchors per cell), ...))
    "full": ("face_detection_full_range.tflite", 192, ((4, 1),)),
    "short": ("face_detection_short_range.tflite", 128, ((8, 2), (16, 6))),
}

MODEL_FOLDER = Path(__file__).with_name("blazeface_models")
"""The packaged model files, their licence and `SOURCE.md`."""


@dataclass
class Detection:
    """One BlazeFace face: `box` (x0, y0, x1, y1) photo pixels (forehead to chin), `score` 0..1,
    `keypoints` (6, 2) float (x, y) photo pixels: the subject's right eye, left eye, nose tip,
    mouth centre, right ear, left ear (the subject's right eye is at the smaller x)."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray

    @property
    def eyes(self) -> np.ndarray:
        """(2, 2) eye centres, smaller x first."""
        eyes = self.keypoints[:2]
        return eyes[np.argsort(eyes[:, 0])]


def detect(image: np.ndarray) -> list[Detection]:
    """Faces in a uint8 RGB photo (H, W, 3) scoring at least `SCORE`, best first (see the module
    docstring for the search); empty when there is none."""
    h, w = image.shape[:2]
    side = max(h, w)
    found = _nms(_both_models(image, ((w - side) / 2, (h - side) / 2, side)))
    faces = [d for d in found if d.score >= SCORE] or [d for d in found if d.score >= CANDIDATE][:MAX_CANDIDATES]
    looked = [_look_again(image, d) for d in faces]
    return [d for d in _nms([d for d in looked if d is not None]) if _eyes_fit(d)]


def _eyes_fit(detection: Detection) -> bool:
    """Whether the eyes are at least `MIN_EYE_SHARE` of the box width apart: not so in false
    detections on background patterns (measured below 0.13) nor in faces seen from the side."""
    return eye_share(detection) >= MIN_EYE_SHARE


def eye_share(detection: Detection) -> float:
    """The eye distance in box widths (about 0.4 for a face seen from the front, less when turned)."""
    left, right = detection.eyes
    return float(np.hypot(*(right - left))) / max(detection.box[2] - detection.box[0], 1e-9)


VIEW_ZOOMS = (2.0, 3.0, 4.0)
"""Window sides (in box sides) of the views `view_score` averages, each also mirrored."""


def view_score(image: np.ndarray, detection: Detection) -> float:
    """BlazeFace's mean score (0..1) for the face of `detection` over six views of the uint8 RGB
    photo (H, W, 3): square windows `VIEW_ZOOMS` times its box, as they are and mirrored; a view
    that finds nothing over the box counts 0. A face keeps its score across views (a mirrored face
    is a face), a pattern that happens to look like one in one window mostly does not."""
    x0, y0, x1, y1 = detection.box
    # mirrored: only the columns the widest view reads, so a 12 MP photo is not copied whole;
    # photo x is x1s - x in the strip (an integer shift of the whole-photo mirror's width - x)
    wx0, _, side = _around(detection.box, max(VIEW_ZOOMS))
    xs0 = min(max(int(np.floor(wx0)), 0), image.shape[1] - 1)
    xs1 = max(min(int(np.ceil(wx0 + side)), image.shape[1]), xs0 + 1)
    strip = np.ascontiguousarray(image[:, xs0:xs1][:, ::-1])
    scores = []
    for photo, box in ((image, detection.box), (strip, (xs1 - x1, y0, xs1 - x0, y1))):
        for zoom in VIEW_ZOOMS:
            near = [d for d in _nms(_both_models(photo, _around(box, zoom))) if inside_share(d.box, box) > 0.3]
            scores.append(near[0].score if near else 0.0)
    return float(np.mean(scores))


def _look_again(image: np.ndarray, detection: Detection) -> Detection | None:
    """The best detection overlapping `detection` in a window `ZOOM` times its box (the face
    larger in the model's input), if it scores `SCORE`; else `detection` if it does; else None."""
    near = [d for d in _nms(_both_models(image, _around(detection.box, ZOOM)))
            if inside_share(d.box, detection.box) > 0.3]
    if near and near[0].score >= SCORE:
        return near[0]
    return detection if detection.score >= SCORE else None


def detect_in(image: np.ndarray, box: tuple[float, float, float, float]) -> list[Detection]:
    """Detections whose eyes lie inside `box` (x0, y0, x1, y1, photo pixels), scoring at least
    `CANDIDATE` (the caller vouches for a face there), searched in a window around the box."""
    x0, y0, x1, y1 = box
    found = _nms(_both_models(image, _around(box, 1.5)))
    return [d for d in found if d.score >= CANDIDATE
            and all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in d.eyes)]


def _around(box: tuple[float, float, float, float], factor: float) -> tuple[float, float, float]:
    """Square window (x0, y0, side) `factor` times the box's longer side, on the same centre."""
    x0, y0, x1, y1 = box
    side = factor * max(x1 - x0, y1 - y0)
    return ((x0 + x1 - side) / 2, (y0 + y1 - side) / 2, side)


def _both_models(image: np.ndarray, window: tuple[float, float, float]) -> list[Detection]:
    """Both models on the square `window` (x0, y0, side) of the photo (outside it: black)."""
    found = []
    for name in _MODELS:
        found += _run(name, image, window)
    return found


def _run(name: str, image: np.ndarray, window: tuple[float, float, float]) -> list[Detection]:
    """One model on one square window; raw detections (no NMS) in photo pixels."""
    _, size, _ = _MODELS[name]
    x0, y0, side = window
    pixels = _letterbox(image, x0, y0, side, size)
    net = _network(name)
    net.setInput(pixels.astype(np.float32).transpose(2, 0, 1)[None] / 127.5 - 1.0)
    outputs = net.forward(net.getUnconnectedOutLayersNames())
    logits = next(o for o in outputs if o.shape[-1] == 1).reshape(-1)
    regressors = next(o for o in outputs if o.shape[-1] == 16).reshape(-1, 8, 2)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))
    keep = np.flatnonzero(scores >= CANDIDATE / 2)
    # regressors, in input pixels: box centre and size, then six keypoints, all from the anchor
    units = regressors[keep] / size
    anchors = _anchors(name)[keep][:, None, :]
    centres = (anchors[:, 0] + units[:, 0]) * side + [x0, y0]
    sizes = units[:, 1] * side
    keypoints = (anchors + units[:, 2:]) * side + [x0, y0]
    return [
        Detection(box=(cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), score=float(s), keypoints=k)
        for (cx, cy), (bw, bh), s, k in zip(centres, sizes, scores[keep], keypoints)
    ]


def _letterbox(image: np.ndarray, x0: float, y0: float, side: float, size: int) -> np.ndarray:
    """The square (x0, y0, side) of the photo resampled to (size, size, 3) uint8, black outside."""
    import cv2

    h, w = image.shape[:2]
    scale = size / side
    cx0, cy0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    cx1, cy1 = min(w, int(np.ceil(x0 + side))), min(h, int(np.ceil(y0 + side)))
    out = np.zeros((size, size, 3), np.uint8)
    if cx1 <= cx0 or cy1 <= cy0:
        return out
    crop = image[cy0:cy1, cx0:cx1]
    if scale < 1:  # area filter first so a 12 MP photo does not alias
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        sx, sy = crop.shape[1] / (cx1 - cx0), crop.shape[0] / (cy1 - cy0)
    else:
        sx = sy = 1.0
    # crop pixel (u, v) is photo pixel (cx0 + (u + 0.5) / sx - 0.5, ...); map to the window's grid
    matrix = np.array([[scale / sx, 0, (cx0 - x0 + 0.5 / sx) * scale - 0.5],
                       [0, scale / sy, (cy0 - y0 + 0.5 / sy) * scale - 0.5]])
    cv2.warpAffine(crop, matrix, (size, size), dst=out, flags=cv2.INTER_LINEAR,
                   borderMode=cv2.BORDER_TRANSPARENT)
    return out


def _nms(detections: list[Detection]) -> list[Detection]:
    """Weighted non-maximum suppression: each cluster of overlapping detections becomes their
    score-weighted average, with the best score; then a detection mostly inside a better one
    (over half of the smaller box: faces do not nest, a masked face's lower half can score as a
    face of its own) is dropped; best first."""
    rest = sorted(detections, key=lambda d: d.score, reverse=True)
    merged = []
    while rest:
        best = rest[0]
        cluster = [d for d in rest if _iou(best.box, d.box) > _NMS_IOU]
        rest = [d for d in rest if _iou(best.box, d.box) <= _NMS_IOU]
        weights = np.array([d.score for d in cluster])[:, None]
        box = (np.array([d.box for d in cluster]) * weights).sum(0) / weights.sum()
        points = (np.array([d.keypoints for d in cluster]) * weights[:, :, None]).sum(0) / weights.sum()
        merged.append(Detection(box=tuple(float(v) for v in box), score=best.score, keypoints=points))
    kept: list[Detection] = []
    for detection in merged:
        if all(inside_share(detection.box, better.box) <= 0.5 for better in kept):
            kept.append(detection)
    return kept


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    inter = _intersection(a, b)
    return inter / (_area(a) + _area(b) - inter)


def inside_share(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area (1 when one box holds the other)."""
    return _intersection(a, b) / min(_area(a), _area(b))


def _intersection(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def _area(box: tuple[float, ...]) -> float:
    return max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)


@lru_cache(maxsize=None)
def _anchors(name: str) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1] input coordinates, in the model's output order."""
    _, size, layers = _MODELS[name]
    anchors = []
    for stride, per_cell in layers:
        cells = size // stride
        grid = (np.arange(cells) + 0.5) / cells
        x, y = np.meshgrid(grid, grid)
        anchors.append(np.repeat(np.stack([x.ravel(), y.ravel()], 1), per_cell, axis=0))
    return np.concatenate(anchors)


@lru_cache(maxsize=None)
def _network(name: str):
    """The OpenCV network of one model ("full" or "short"), loaded once per process (OpenCV 5's
    new engine does not expose both outputs of these models: the classic one does);
    `UnmaskError` when its file is missing or unreadable."""
    import cv2

    path = MODEL_FOLDER / _MODELS[name][0]
    if not path.is_file():
        raise UnmaskError(f"BlazeFace model file {path} is missing: the unmask install is incomplete, "
                          "reinstall it (pip install .)")
    try:
        if hasattr(cv2.dnn, "ENGINE_CLASSIC"):
            return cv2.dnn.readNetFromTFLite(str(path), engine=cv2.dnn.ENGINE_CLASSIC)
        return cv2.dnn.readNetFromTFLite(str(path))
    except cv2.error:
        raise UnmaskError(f"BlazeFace model file {path} is damaged (OpenCV cannot read it): "
                          "reinstall unmask (pip install .)") from None
