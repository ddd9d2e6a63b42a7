"""Image-quality metrics of a completed face against its ground truth.

Images are uint8 RGB (H, W, 3) of the same shape. `mask` (H, W) bool or float weights in [0, 1]
restricts a metric to a region (1 = counts). `region_box` gives the other restriction used by the
evaluation: the bounding box of the mask region grown by a margin, which keeps some context around
the filled pixels so a smooth but wrong patch and a sharp but misplaced one both show.

Two metrics see the faults a person notices first and the box scores average away: `remnant`
(mask fabric left unchanged in the true region) and `chroma90` (a colour cast in the fill).
"""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]
"""(y0, y1, x0, x1): rows y0..y1-1 and columns x0..x1-1 of an image."""


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB (peak 255) over all pixels or the weighted `mask`;
    `inf` for identical images."""
    _check_pair(a, b, mask)
    error = np.square(a.astype(np.float64) - b.astype(np.float64)).mean(axis=2)
    mse = _weighted_mean(error, mask)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Structural similarity (Wang et al. 2004: Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
    per channel, then averaged); 1 for identical images. With `mask`, the SSIM map is averaged over
    the mask's weights. Images must be at least 11x11."""
    from skimage.metrics import structural_similarity

    _check_pair(a, b, mask)
    if min(a.shape[:2]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {a.shape[:2]}")
    _, full = structural_similarity(
        a, b, data_range=255, channel_axis=2, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, full=True,
    )
    return float(_weighted_mean(full.mean(axis=2), mask))


def perceptual_distance(
    a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, net: str = "alex", device=None
) -> float:
    """Shift-tolerant LPIPS distance (see `unmask.perceptual`), 0 for identical images, a few
    hundredths for a copy shifted by 1-3 px, 0.8-0.9 for noise. Images must be at least 21x21 (18x18 for vgg)."""
    import torch

    from unmask.images import to_tensor
    from unmask.perceptual import perceptual

    _check_pair(a, b, mask)
    model = perceptual(net, device)
    device = next(model.buffers()).device
    weights = None if mask is None else torch.from_numpy(np.asarray(mask, np.float32))[None, None].to(device)
    with torch.no_grad():
        return float(model(to_tensor(a, device), to_tensor(b, device), mask=weights)[0])


def region_box(region: np.ndarray, margin: float = 0.1) -> Box:
    """Bounding box of a bool region (H, W), grown on every side by `margin` x its own size and
    clipped to the image. Raises ValueError for an empty region."""
    ys, xs = np.nonzero(region)
    if ys.size == 0:
        raise ValueError("the region is empty")
    height, width = region.shape
    pad_y = round(margin * (ys.max() + 1 - ys.min()))
    pad_x = round(margin * (xs.max() + 1 - xs.min()))
    return (max(0, ys.min() - pad_y), min(height, ys.max() + 1 + pad_y),
            max(0, xs.min() - pad_x), min(width, xs.max() + 1 + pad_x))


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    """The part of `image` (H, W, ...) inside `box`."""
    y0, y1, x0, x1 = box
    return image[y0:y1, x0:x1]


def image_scores(
    result: np.ndarray, truth: np.ndarray, region: np.ndarray, margin: float = 0.1, net: str = "alex"
) -> dict[str, float]:
    """PSNR, SSIM and perceptual distance of `result` against `truth`, inside the region's box
    (`region_box(region, margin)`) and over the whole image. Keys: psnr_region, ssim_region,
    perceptual_region, psnr_face, ssim_face, perceptual_face."""
    return {**box_scores(result, truth, region, margin, net), **_scores(result, truth, "face", net)}


def box_scores(
    result: np.ndarray, truth: np.ndarray, region: np.ndarray, margin: float = 0.1, net: str = "alex"
) -> dict[str, float]:
    """PSNR, SSIM and perceptual distance of `result` against `truth` inside the region's box
    (`region_box(region, margin)`). Keys: psnr_region, ssim_region, perceptual_region."""
    box = region_box(region, margin)
    return _scores(crop(result, box), crop(truth, box), "region", net)


def _scores(x: np.ndarray, y: np.ndarray, where: str, net: str) -> dict[str, float]:
    return {f"psnr_{where}": psnr(x, y), f"ssim_{where}": ssim(x, y),
            f"perceptual_{where}": perceptual_distance(x, y, net=net)}


UNCHANGED = 6
"""A pixel is left unchanged when |result - masked| summed over R, G and B is at most this."""


def unchanged(result: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """Bool (H, W): the pixels of `result` left as they were in `masked` (see `UNCHANGED`)."""
    _check_pair(result, masked, None)
    change = np.abs(result.astype(np.int16) - masked.astype(np.int16)).sum(axis=2)
    return change <= UNCHANGED


def remnant(result: np.ndarray, masked: np.ndarray, region: np.ndarray) -> float:
    """Share in [0, 1] of the true mask `region` (H, W) bool whose pixels `result` left unchanged
    from the `masked` photo (both uint8 (H, W, 3), the original photo): mask fabric left on the
    face. 0 when every region pixel changed, 1 for the masked photo itself."""
    region = _region(region, result)
    return float(unchanged(result, masked)[region].mean())


CHROMA_SIGMA = 6.0
"""chroma90 blurs both images with a Gaussian of this sigma (px) before comparing colours, so
texture and small misplacements do not count, only the colour of areas."""


def chroma90(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """90th percentile, over the true mask `region` (H, W) bool, of the chroma error between
    `result` and `truth` (uint8 (H, W, 3)): the distance in CIELAB's a*b* plane (D65) after both
    images are blurred with a Gaussian of sigma `CHROMA_SIGMA` = 6 px (before the conversion to
    CIELAB). A colour cast over a tenth of the region shows; 0 for identical colours. Around 2 is
    hard to see, 10 is an obvious tint."""
    import cv2
    from skimage.color import rgb2lab

    _check_pair(result, truth, None)
    region = _region(region, result)
    # the blur reaches 4 sigma (OpenCV's kernel for float images): a box this much larger than the
    # region gives the same values inside the region as blurring the whole photo
    y0, y1, x0, x1 = region_box(region, margin=0.0)
    pad = int(np.ceil(4 * CHROMA_SIGMA)) + 1
    box = (max(0, y0 - pad), y1 + pad, max(0, x0 - pad), x1 + pad)
    ab = [rgb2lab(cv2.GaussianBlur(crop(image, box).astype(np.float32) / 255.0, (0, 0), CHROMA_SIGMA))[..., 1:]
          for image in (result, truth)]
    error = np.linalg.norm(ab[0] - ab[1], axis=2)
    return float(np.percentile(error[crop(region, box)], 90))


def _region(region: np.ndarray, image: np.ndarray) -> np.ndarray:
    region = np.asarray(region, bool)
    if region.shape != image.shape[:2]:
        raise ValueError(f"the region is {region.shape}, the images are {image.shape[:2]}")
    if not region.any():
        raise ValueError("the region is empty")
    return region


def descriptor(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """dlib's 128-D identity descriptor of the face with these 68 landmarks (x, y) in `image`
    (uint8 RGB). Compare two with `unmask.face.identity_distance` (same person below 0.6).

    Giving the same landmarks for a completed face and its ground truth makes the descriptors
    differ only by the pixels, not by where a detector placed the points."""
    from unmask.face import Face, face_descriptor

    points = np.asarray(landmarks, np.float64)
    box = (*points.min(axis=0), *points.max(axis=0))
    return face_descriptor(image, Face(box=tuple(float(v) for v in box), score=1.0, landmarks=points))


def _weighted_mean(values: np.ndarray, mask: np.ndarray | None) -> float:
    if mask is None:
        return float(values.mean())
    weights = np.asarray(mask, np.float64)
    total = weights.sum()
    if total <= 0:
        raise ValueError("the mask selects no pixels")
    return float((values * weights).sum() / total)


def _check_pair(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> None:
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected two (H, W, 3) images of one shape, got {a.shape} and {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {a.dtype} and {b.dtype}")
    if mask is not None and np.shape(mask) != a.shape[:2]:
        raise ValueError(f"the mask is {np.shape(mask)}, the images are {a.shape[:2]}")
