"""FFHQ alignment (the NVlabs/ffhq-dataset recipe) as one affine warp that keeps its transform,
and its inverse: pasting an aligned image (or part of it, through a mask) back into the photo.

Points are (x, y) with pixel centres at integer positions. The crop's corners (-0.5, -0.5) ...
(size - 0.5, size - 0.5) are the corners of the recipe's quad, as in the recipe's PIL QUAD
transform with `quad + 0.5`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """The recipe's crop quad (4, 2) for 68 landmarks: corners top-left, bottom-left,
    bottom-right, top-right in photo pixels."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    eye_left = lm[36:42].mean(axis=0)
    eye_right = lm[42:48].mean(axis=0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


@dataclass
class Alignment:
    """The FFHQ crop of one face: `matrix` (3, 3) maps photo points to crop points, `quad` (4, 2)
    is the crop square in the photo (top-left, bottom-left, bottom-right, top-right), `size` the
    crop's side in pixels."""

    matrix: np.ndarray
    quad: np.ndarray
    size: int

    @classmethod
    def from_quad(cls, quad: np.ndarray, size: int) -> Alignment:
        """The similarity transform that sends the quad's corners to the crop's corners."""
        quad = np.asarray(quad, dtype=np.float64)
        src = quad[[0, 3, 1]]  # top-left, top-right, bottom-left
        lo, hi = -0.5, size - 0.5
        dst = np.array([[lo, lo], [hi, lo], [lo, hi]])
        affine = np.linalg.solve(np.hstack([src, np.ones((3, 1))]), dst).T
        return cls(matrix=np.vstack([affine, [0.0, 0.0, 1.0]]), quad=quad, size=int(size))

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:2, :2]))))

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Photo points (N, 2) -> crop points (N, 2)."""
        return _apply(self.matrix, points)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """Crop points (N, 2) -> photo points (N, 2)."""
        return _apply(np.linalg.inv(self.matrix), points)

    def region_to_crop(self, region: np.ndarray) -> np.ndarray:
        """A photo region (H, W) bool warped into the crop (S, S) bool (bilinear, >= 0.5)."""
        import cv2

        # only the photo's pixels under the crop's square are read (a 12 MP region is 48 MB as float)
        h, w = region.shape[:2]
        lo = np.clip(np.floor(self.quad.min(axis=0)).astype(int) - 2, 0, [w, h])
        hi = np.clip(np.ceil(self.quad.max(axis=0)).astype(int) + 3, lo, [w, h])
        inverse = cv2.invertAffineTransform(self.matrix[:2])  # crop -> photo, as warpAffine inverts it
        inverse[:, 2] -= lo
        part = region[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float32)
        if part.size == 0:
            return np.zeros((self.size, self.size), bool)
        warped = cv2.warpAffine(part, inverse, (self.size, self.size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        return warped >= 0.5

    def crop_like(self, photo: np.ndarray) -> np.ndarray:
        """`photo` (H, W, 3) cut exactly as this crop (S, S, 3) (bicubic, border replicated), e.g. a
        ground truth next to a result's aligned crop."""
        import cv2

        return cv2.warpAffine(photo, self.matrix[:2], (self.size, self.size), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REPLICATE)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:2, :2].T + matrix[:2, 2]


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 1024) -> tuple[np.ndarray, Alignment]:
    """FFHQ-aligned crop of the face with these 68 landmarks: uint8 (size, size, 3) and its
    `Alignment`. Parts of the quad outside the photo are filled as the recipe does: reflected
    photo, blended toward a blurred copy and the median colour with the distance from the edge."""
    import cv2

    if size < 8:
        raise ValueError(f"crop size must be at least 8 px, got {size}")
    alignment = Alignment.from_quad(ffhq_quad(landmarks), size)
    # Work on the part of the photo the quad covers (with a margin for the filter), padded where
    # the quad leaves the photo; `to_region` maps photo points into that working array.
    region, to_region = _working_region(image, alignment)
    matrix = alignment.matrix @ np.linalg.inv(to_region)
    crop = cv2.warpAffine(
        region, matrix[:2], (size, size), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, alignment


def _working_region(image: np.ndarray, alignment: Alignment) -> tuple[np.ndarray, np.ndarray]:
    """(region uint8, 3x3 photo -> region matrix). The region is the quad's bounding box of the
    photo, shrunk to about crop resolution when the face is larger than the crop (an area filter,
    so the warp does not alias), and padded with blurred reflection outside the photo."""
    import cv2

    h, w = image.shape[:2]
    margin = 4.0 / min(alignment.scale, 1.0)
    lo = np.floor(alignment.quad.min(axis=0) - margin).astype(int)
    hi = np.ceil(alignment.quad.max(axis=0) + margin).astype(int) + 1
    inner_lo = np.maximum(lo, 0)
    inner_hi = np.minimum(hi, [w, h])
    if np.any(inner_hi <= inner_lo):
        raise ValueError("the landmarks' crop square lies entirely outside the photo")
    region = image[inner_lo[1] : inner_hi[1], inner_lo[0] : inner_hi[0]]
    pad_lo = inner_lo - lo
    pad_hi = hi - inner_hi
    shrink = min(1.0, alignment.scale)
    to_region = np.array([[1.0, 0, -lo[0]], [0, 1.0, -lo[1]], [0, 0, 1.0]])
    if shrink < 0.75:
        rh, rw = region.shape[:2]
        size = (max(1, round(rw * shrink)), max(1, round(rh * shrink)))
        region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
        sx, sy = size[0] / rw, size[1] / rh
        # pixel-centre coordinates: x' = (x + 0.5) * s - 0.5
        resize = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])
        to_region = resize @ np.array([[1.0, 0, -inner_lo[0]], [0, 1.0, -inner_lo[1]], [0, 0, 1.0]])
        pad_lo = np.ceil(pad_lo * [sx, sy]).astype(int)
        pad_hi = np.ceil(pad_hi * [sx, sy]).astype(int)
        to_region = np.array([[1.0, 0, pad_lo[0]], [0, 1.0, pad_lo[1]], [0, 0, 1.0]]) @ to_region
    if np.any(pad_lo > 0) or np.any(pad_hi > 0):
        qsize = np.hypot(*(alignment.quad[3] - alignment.quad[0])) * shrink
        region = _pad_blurred_reflection(region, pad_lo, pad_hi, qsize)
    return np.ascontiguousarray(region), to_region


def _pad_blurred_reflection(region: np.ndarray, pad_lo: np.ndarray, pad_hi: np.ndarray, qsize: float) -> np.ndarray:
    """The recipe's padding: pad (x, y) amounts with the reflected photo, then blend toward a
    Gaussian-blurred copy (sigma 0.02 * qsize, qsize = quad side in region pixels) and the median
    colour. Along each padded side t = distance outside the photo edge / max(pad, 0.3 * qsize)
    (negative inside); the blur weight is clip(3t + 1, 0, 1), the median weight clip(t, 0, 1).
    Only the band along the padded sides where t > -1/3 changes; it is blurred on its own (with
    the filter's reach around it, so every value is the whole copy's) and the rest is copied."""
    import cv2

    padded = region
    lo, hi = pad_lo.copy(), pad_hi.copy()
    while np.any(lo > 0) or np.any(hi > 0):  # a reflection can add at most the region's size
        ph, pw = padded.shape[:2]
        step_lo = np.minimum(lo, [pw - 1, ph - 1])
        step_hi = np.minimum(hi, [pw - 1, ph - 1])
        border = cv2.BORDER_REFLECT_101
        if ph < 2 or pw < 2:
            step_lo, step_hi, border = lo, hi, cv2.BORDER_REPLICATE
        padded = cv2.copyMakeBorder(padded, *_lrtb(step_lo, step_hi), border)
        lo, hi = lo - step_lo, hi - step_hi
    h, w = padded.shape[:2]
    x = np.arange(w, dtype=np.float32)
    y = np.arange(h, dtype=np.float32)
    far = np.full(w, -np.inf, np.float32), np.full(h, -np.inf, np.float32)
    lo_ramp = np.maximum(pad_lo, 0.3 * qsize)
    hi_ramp = np.maximum(pad_hi, 0.3 * qsize)
    tx = np.maximum(
        (pad_lo[0] - x) / lo_ramp[0] if pad_lo[0] > 0 else far[0],
        (x - (w - 1 - pad_hi[0])) / hi_ramp[0] if pad_hi[0] > 0 else far[0],
    )
    ty = np.maximum(
        (pad_lo[1] - y) / lo_ramp[1] if pad_lo[1] > 0 else far[1],
        (y - (h - 1 - pad_hi[1])) / hi_ramp[1] if pad_hi[1] > 0 else far[1],
    )
    sigma = max(0.02 * qsize, 0.5)
    reach = int(np.ceil(4 * sigma)) + 2  # OpenCV's float kernel reaches round(4 sigma) px
    img = padded.astype(np.float32)
    blended = []
    for rows, cols in _band(tx > -1 / 3, ty > -1 / 3):
        t = np.maximum(tx[None, cols], ty[rows, None])[:, :, None]
        outer = slice(max(rows.start - reach, 0), rows.stop + reach), slice(max(cols.start - reach, 0), cols.stop + reach)
        blurred = cv2.GaussianBlur(img[outer], (0, 0), sigmaX=sigma)
        r0, c0 = rows.start - outer[0].start, cols.start - outer[1].start  # the band inside the blurred piece
        inner = blurred[r0 : r0 + rows.stop - rows.start, c0 : c0 + cols.stop - cols.start]
        part = img[rows, cols].copy()
        part += (inner - part) * np.clip(t * 3.0 + 1.0, 0.0, 1.0)
        blended.append((rows, cols, part, t))
    for rows, cols, part, _ in blended:
        img[rows, cols] = part
    median = np.median(img[::4, ::4].reshape(-1, 3), axis=0)  # every 16th pixel: the same colour, 1/12 of the time
    out = padded.copy()
    for rows, cols, part, t in blended:
        part += (median - part) * np.clip(t, 0.0, 1.0)
        out[rows, cols] = np.clip(np.rint(part), 0, 255).astype(np.uint8)
    return out


def _band(columns: np.ndarray, rows: np.ndarray) -> list[tuple[slice, slice]]:
    """Disjoint (rows, columns) rectangles covering every pixel whose column or row is marked
    (bool (W,), (H,); the marks run in from the ends)."""
    h, w = len(rows), len(columns)
    top = int(np.argmin(rows)) if not rows.all() else h
    bottom = h - int(np.argmin(rows[::-1])) if not rows.all() else h
    left = int(np.argmin(columns)) if not columns.all() else w
    right = w - int(np.argmin(columns[::-1])) if not columns.all() else w
    pieces = [(slice(0, top), slice(0, w)), (slice(bottom, h), slice(0, w)),
              (slice(top, bottom), slice(0, left)), (slice(top, bottom), slice(right, w))]
    return [(r, c) for r, c in pieces if r.stop > r.start and c.stop > c.start]


def _lrtb(lo: np.ndarray, hi: np.ndarray) -> tuple[int, int, int, int]:
    """cv2.copyMakeBorder order: top, bottom, left, right."""
    return int(lo[1]), int(hi[1]), int(lo[0]), int(hi[0])


def paste_back(
    photo: np.ndarray, crop: np.ndarray, alignment: Alignment, mask: np.ndarray | None = None
) -> np.ndarray:
    """A new photo with the aligned `crop` (uint8 (size, size, 3)) warped back into place.

    `mask` (size, size) selects what is pasted: bool, or float weights in [0, 1]; None pastes the
    whole crop. Photo pixels where the warped mask is 0 are returned bit-identical.
    """
    import cv2

    size = alignment.size
    if crop.shape[:2] != (size, size):
        raise ValueError(f"crop is {crop.shape[:2]}, the alignment expects ({size}, {size})")
    weights = np.ones((size, size), np.float32) if mask is None else np.asarray(mask, np.float32)
    if weights.shape != (size, size):
        raise ValueError(f"mask is {weights.shape}, the alignment expects ({size}, {size})")
    out = photo.copy()
    h, w = photo.shape[:2]
    lo = np.maximum(np.floor(alignment.quad.min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(alignment.quad.max(axis=0)).astype(int) + 3, [w, h])
    if np.any(hi <= lo):
        return out
    roi = (hi - lo)[::-1]
    shift = np.array([[1.0, 0, lo[0]], [0, 1.0, lo[1]], [0, 0, 1.0]])
    # roi -> crop, used with WARP_INVERSE_MAP so every roi pixel samples the crop
    matrix = alignment.matrix @ shift
    flags = cv2.WARP_INVERSE_MAP
    weight = cv2.warpAffine(
        np.clip(weights, 0.0, 1.0), matrix[:2], (int(roi[1]), int(roi[0])),
        flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    )
    # only the rows the weights reach are resampled (a row's samples do not depend on the others)
    rows = np.flatnonzero(weight.max(axis=1) > 0)
    if len(rows) == 0:
        return out
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    down = np.array([[1.0, 0, 0], [0, 1.0, top], [0, 0, 1.0]])
    warped = cv2.warpAffine(
        crop, (matrix @ down)[:2], (int(roi[1]), bottom - top), flags=cv2.INTER_LANCZOS4 | flags,
        borderMode=cv2.BORDER_REPLICATE,
    )
    weight = weight[top:bottom]
    target = out[lo[1] + top : lo[1] + bottom, lo[0] : hi[0]]
    whole = weight == 1.0  # the crop's pixel as it is
    np.copyto(target, warped, where=whole[:, :, None])
    edge = (weight > 0) & ~whole  # only these and the whole ones change (a 12 MP photo's box holds millions of others)
    w = weight[edge][:, None]
    blend = np.rint(target[edge] * (1.0 - w) + warped[edge] * w)
    target[edge] = np.clip(blend, 0, 255).astype(np.uint8)
    return out
