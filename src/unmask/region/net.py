"""A small segmentation network for the face-mask region, run with numpy (no torch at run time).

The network sees a face-frame crop (`unmask.region.frame`): x from -1.8 to 1.8 and y from -1.0 to
2.6 inter-ocular distances around the point between the eyes, resampled to `SIDE` x `SIDE`, as
RGB in [-0.5, 0.5] plus the two frame coordinates / 2. It is a four-level U-Net (3x3 convolutions
and ReLU, 2x2 max pooling, nearest upsampling, skip connections by concatenation) that gives one
logit per pixel. `scripts/train_region_net.py` trains it on the project's own composites
(procedural masks and mask templates on unmasked photos) and writes the weights file this module
loads: a `.npz` of float arrays, read with `allow_pickle=False` so that loading runs no code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from unmask.errors import UnmaskError
from unmask.region.frame import face_frame

SIDE = 128
"""The network's input and output side (px)."""
CROP = (-1.8, 1.8, -1.0, 2.6)
"""x0, x1, y0, y1 of the crop in face-frame units (inter-ocular distances, y down)."""
WIDTHS = (16, 32, 48, 64)
"""Channels per U-Net level, finest first; the last level is the bottleneck."""
INPUTS = 5
"""RGB and the two frame coordinates."""
WEIGHTS = Path(__file__).with_name("net.npz")


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


def layer_names() -> list[tuple[str, int, int]]:
    """(name, in channels, out channels) of every 3x3 convolution in order, then the 1x1 head."""
    names, channels = [], INPUTS
    for level, width in enumerate(WIDTHS):
        names += [(f"down{level}a", channels, width), (f"down{level}b", width, width)]
        channels = width
    for level in range(len(WIDTHS) - 2, -1, -1):
        width = WIDTHS[level]
        names += [(f"up{level}a", channels + width, width), (f"up{level}b", width, width)]
        channels = width
    return names + [("head", channels, 1)]


@lru_cache(maxsize=4)
def load_weights(path: str | Path = WEIGHTS) -> dict[str, np.ndarray]:
    """The weights file as float32 arrays `NAME.w` (out, in, k, k) and `NAME.b` (out,); checked
    against `layer_names`. `UnmaskError` for a missing or wrong file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            weights = {key: data[key].astype(np.float32) for key in data.files if key.endswith((".w", ".b"))}
    except (OSError, ValueError) as error:
        raise UnmaskError(f"{path}: not a region network weights file ({error})") from None
    for name, cin, cout in layer_names():
        k = 1 if name == "head" else 3
        if weights.get(f"{name}.w", np.empty(0)).shape != (cout, cin, k, k) or \
                weights.get(f"{name}.b", np.empty(0)).shape != (cout,):
            raise UnmaskError(f"{path}: not a region network weights file (layer {name} is missing or "
                              f"has the wrong shape)")
    return weights


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """'Same' convolution of x (C, H, W) with weight (O, C, k, k), k odd -> (O, H, W)."""
    k = weight.shape[2]
    channels, height, width = x.shape
    pad = k // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.broadcast_to(bias[:, None], (len(bias), height * width)).copy()
    for i in range(k):
        for j in range(k):
            shifted = np.ascontiguousarray(padded[:, i:i + height, j:j + width]).reshape(channels, -1)
            out += weight[:, :, i, j] @ shifted
    return out.reshape(-1, height, width)


def _block(x: np.ndarray, weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    for part in "ab":
        x = np.maximum(_conv(x, weights[f"{name}{part}.w"], weights[f"{name}{part}.b"]), 0)
    return x


def forward(x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """Logits float32 (H, W) for the input x (INPUTS, H, W); H and W divisible by 8."""
    assert x.shape[0] == INPUTS and x.shape[1] % 8 == 0 and x.shape[2] % 8 == 0, x.shape
    skips = []
    for level in range(len(WIDTHS)):
        if level:
            c, h, w = x.shape
            x = x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
        x = _block(x, weights, f"down{level}")
        skips.append(x)
    for level in range(len(WIDTHS) - 2, -1, -1):
        x = np.concatenate([x.repeat(2, axis=1).repeat(2, axis=2), skips[level]])
        x = _block(x, weights, f"up{level}")
    return _conv(x, weights["head.w"], weights["head.b"])[0]


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
                     weights_path: str | Path = WEIGHTS) -> tuple[np.ndarray, np.ndarray]:
    """The network's face-mask probability on its grid, float32 (SIDE, SIDE) in [0, 1], and the
    2x3 map from photo pixels to that grid (`cv2.warpAffine(..., WARP_INVERSE_MAP)` puts it on
    the photo). image: uint8 RGB (H, W, 3); landmarks: (68, 2) photo pixels."""
    weights = load_weights(weights_path)
    matrix = crop_matrix(landmarks)
    logits = forward(network_input(face_crop(image, matrix)), weights)
    return (1 / (1 + np.exp(-logits))).astype(np.float32), matrix
