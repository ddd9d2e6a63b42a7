"""A small segmentation network for the face-mask region, run with OpenCV's DNN module (no torch).

The network sees a face-frame crop (`unmask.region.frame`): x from -1.8 to 1.8 and y from -1.0 to
2.6 inter-ocular distances around the point between the eyes, resampled to `SIDE` x `SIDE`, as
RGB in [-0.5, 0.5] plus the two frame coordinates / 2, and gives one logit per pixel. It is
defined once, in torch (`unmask.region.net_model.RegionNet`, a four-level U-Net), trained by
`scripts/train_region_net.py` on the project's own composites (procedural masks and mask
templates on unmasked photos) and written as the ONNX file `net.onnx` that this module runs.
Reading an ONNX file runs no code from it: it is a graph of standard operators and its weights.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from unmask.errors import UnmaskError
from unmask.region.frame import FaceFrame, face_frame

SIDE = 128
"""The network's input and output side (px)."""
CROP = (-1.8, 1.8, -1.0, 2.6)
"""x0, x1, y0, y1 of the crop in face-frame units (inter-ocular distances, y down)."""
INPUTS = 5
"""RGB and the two frame coordinates."""
NETWORK = Path(__file__).with_name("net.onnx")
"""The network, written by `scripts/train_region_net.py` (`unmask.region.net_model`)."""


def crop_matrix(landmarks: np.ndarray, side: int = SIDE) -> np.ndarray:
    """The 2x3 affine map from photo pixels (x, y) to the network grid (pixel centres at
    0..side-1) for the face with 68 landmarks (68, 2)."""
    frame = face_frame(np.asarray(landmarks, np.float64))
    x0, x1, y0, y1 = CROP
    sx, sy = side / (x1 - x0), side / (y1 - y0)
    # grid = scale * (frame coordinates - crop corner) - 0.5; frame = rows (right, down) . (p - origin) / d
    linear = np.stack([frame.right * sx, frame.down * sy]) / frame.d
    offset = -linear @ frame.origin - np.array([x0 * sx, y0 * sy]) - 0.5
    return np.hstack([linear, offset[:, None]])


def grid_frame(side: int = SIDE) -> FaceFrame:
    """The face frame on the network's grid (side x side pixels): where the frame's points lie on
    `mask_probability`'s output (the crop is square: one scale)."""
    x0, x1, y0, y1 = CROP
    scale = side / (x1 - x0)
    return FaceFrame(np.array([-x0 * scale - 0.5, -y0 * scale - 0.5]), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                     scale)


def coordinate_channels(side: int = SIDE) -> np.ndarray:
    """float32 (2, side, side): each grid pixel's frame x and y, divided by 2."""
    x0, x1, y0, y1 = CROP
    xs = x0 + (np.arange(side) + 0.5) * (x1 - x0) / side
    ys = y0 + (np.arange(side) + 0.5) * (y1 - y0) / side
    return (np.stack(np.meshgrid(xs, ys)) / 2).astype(np.float32)


def network_input(crop: np.ndarray) -> np.ndarray:
    """uint8 RGB crop (SIDE, SIDE, 3) -> float32 (INPUTS, SIDE, SIDE)."""
    rgb = crop.astype(np.float32).transpose(2, 0, 1) / 255 - 0.5
    return np.concatenate([rgb, coordinate_channels(crop.shape[0])])


def load_network(path: str | Path = NETWORK) -> cv2.dnn.Net:
    """The ONNX network file read by OpenCV's DNN module (once per path), checked once on two
    inputs, zeros float32 (INPUTS, SIDE, SIDE) and the same with its last channel raised by 1 (or,
    when `mask_probability` uses the file first, on its first face's input): it must give logits
    (1, 1, SIDE, SIDE) and read that channel. `UnmaskError` for a missing, unreadable or wrong file."""
    network = _read_network(str(path))
    if str(path) not in _CHECKED:
        _checked_run(network, str(path), np.zeros((INPUTS, SIDE, SIDE), np.float32))
    return network


@lru_cache(maxsize=4)
def _read_network(path: str) -> cv2.dnn.Net:
    if not Path(path).is_file():
        raise UnmaskError(f"{path}: the region network file is missing")
    try:
        return cv2.dnn.readNetFromONNX(path)
    except cv2.error as error:
        raise UnmaskError(f"{path}: not a region network file (OpenCV: {_message(error)})") from None


_CHECKED: set[str] = set()
"""The network files `_checked_run` found right."""


def _checked_run(network: cv2.dnn.Net, path: str, x: np.ndarray) -> np.ndarray:
    """The output of `network` (read from `path`) for x float32 (INPUTS, SIDE, SIDE), checked as
    `load_network` says the first time the file is used (the check's first input is then the
    caller's own: one forward pass less)."""
    try:
        out = _run(network, x)
        if path in _CHECKED:
            return out
        raised = x.copy()
        raised[-1] += 1.0
        other = _run(network, raised)
    except cv2.error as error:
        raise UnmaskError(f"{path}: not a region network file (OpenCV: {_message(error)})") from None
    if out.shape != (1, 1, SIDE, SIDE):
        raise UnmaskError(f"{path}: not a region network file (output {out.shape}, "
                          f"expected {(1, 1, SIDE, SIDE)})")
    if np.array_equal(out, other):  # OpenCV 5 reads the first channels of a wider input without a word
        raise UnmaskError(f"{path}: not a region network file (it does not read {INPUTS} input channels)")
    _CHECKED.add(path)
    return out


_LOCK = threading.Lock()
"""One forward pass at a time: a `cv2.dnn.Net` holds its input and buffers (the web server runs
requests in threads)."""


def _run(network: cv2.dnn.Net, x: np.ndarray) -> np.ndarray:
    """The network's output for one input x float32 (INPUTS, SIDE, SIDE)."""
    with _LOCK:
        network.setInput(x[None])
        return network.forward()


def _message(error: Exception) -> str:
    """An OpenCV error's message: the last non-empty line of its text."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def face_crop(image: np.ndarray, matrix: np.ndarray, side: int = SIDE) -> np.ndarray:
    """The crop uint8 (side, side, 3) that the 2x3 `matrix` maps `image` (uint8 RGB (H, W, 3)) to;
    the photo's box under the crop is first shrunk to at most twice the grid's resolution, so
    that a large face is averaged rather than sampled (warpAffine has no area filter)."""
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [side, 0, 1], [0, side, 1], [side, side, 1]], np.float64) @ inverse.T
    height, width = image.shape[:2]
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 2, 0, (width - 1, height - 1))
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 3, (x0 + 1, y0 + 1), (width, height))
    shrink = min(1.0, 2.0 * float(np.sqrt(abs(np.linalg.det(matrix[:, :2])))))
    box = image[y0:y1, x0:x1]
    if shrink < 1.0:
        size = (max(1, round((x1 - x0) * shrink)), max(1, round((y1 - y0) * shrink)))
        box = cv2.resize(box, size, interpolation=cv2.INTER_AREA)
    return cv2.warpAffine(box, matrix @ resized_box_to_photo((x0, y0, x1, y1), box.shape[:2]), (side, side),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def resized_box_to_photo(box: tuple[int, int, int, int], shape: tuple[int, int]) -> np.ndarray:
    """3x3 map from the pixels of the photo's `box` (x0, y0, x1, y1) resized to `shape` (h, w)
    to photo pixels (pixel centres matched, as cv2.resize does)."""
    x0, y0, x1, y1 = box
    sx, sy = (x1 - x0) / shape[1], (y1 - y0) / shape[0]
    return np.array([[sx, 0, 0.5 * sx - 0.5 + x0], [0, sy, 0.5 * sy - 0.5 + y0], [0, 0, 1]])


def mask_probability(image: np.ndarray, landmarks: np.ndarray,
                     network_path: str | Path = NETWORK) -> tuple[np.ndarray, np.ndarray]:
    """The network's face-mask probability on its grid, float32 (SIDE, SIDE) in [0, 1], and the
    2x3 map from photo pixels to that grid (`cv2.warpAffine(..., WARP_INVERSE_MAP)` puts it on
    the photo). image: uint8 RGB (H, W, 3); landmarks: (68, 2) photo pixels."""
    network = _read_network(str(network_path))
    matrix = crop_matrix(landmarks)
    logits = _checked_run(network, str(network_path), network_input(face_crop(image, matrix)))[0, 0]
    return (1 / (1 + np.exp(-logits))).astype(np.float32), matrix
