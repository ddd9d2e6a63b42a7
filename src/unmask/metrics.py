"""Image-quality metrics of a completed face against its ground truth.

Images are uint8 RGB (H, W, 3) of the same shape. `mask` (H, W) bool or float weights in [0, 1]
restricts a metric to a region (1 = counts). `region_box` gives the other restriction used by the
evaluation: the bounding box of the mask region grown by a margin, which keeps some context around
the filled pixels so a smooth but wrong patch and a sharp but misplaced one both show.

Five metrics see the faults a person notices first and the box scores average away: `remnant`
(mask fabric left unchanged in the true region), `chroma90` (a colour cast in the fill), `light90`
(a pale or dark patch in the fill), `collateral` (what the photo showed beside the mask, changed)
and `seam` / `seam_texture` (a step in lightness or in sharpness along the fill's border).
`region_areas` scores the region that was filled against the true one (`extra_area`,
`missed_area`), before any fill.
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


def region_areas(found: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """How the `found` region (H, W) bool (the one that was filled; may be empty) differs from the
    true mask region `truth` (H, W) bool, non-empty: `extra_area`, the found pixels outside the
    truth, and `missed_area`, the true pixels outside the found region, both as a share of the
    true area (extra in [0, inf): 0.13 = 13 % more than the mask; missed in [0, 1])."""
    found = np.asarray(found, bool)
    if found.shape != np.shape(truth):
        raise ValueError(f"the found region is {found.shape}, the true one {np.shape(truth)}")
    truth = _region(truth, found)
    area = float(truth.sum())
    return {"extra_area": float((found & ~truth).sum() / area), "missed_area": float((truth & ~found).sum() / area)}


def fill_reach(landmarks: np.ndarray) -> float:
    """How far (photo px) outside a region the fill changes the photo at least half-way, for a face
    with these (68, 2) landmarks: half the compositing's grow (`unmask.blend.GROW` of the aligned
    crop's side, which spans at least the FFHQ crop), where its feathered edge's weight is 0.5."""
    from unmask.blend import GROW
    from unmask.face import ffhq_quad

    quad = ffhq_quad(np.asarray(landmarks, np.float64))
    return GROW * float(np.linalg.norm(quad[3] - quad[0])) / 2


def left_beyond(found: np.ndarray, truth: np.ndarray, reach: float) -> float:
    """Share in [0, 1] of the true region `truth` (H, W) bool, non-empty, farther than `reach` px
    from the `found` region (H, W) bool (Euclidean distance): the mask a fill of `found` whose
    edge reaches that far would leave (see `fill_reach`). 1 for an empty `found`."""
    import cv2

    found = np.asarray(found, bool)
    truth = _region(truth, found)
    if not found.any():
        return 1.0
    far = cv2.distanceTransform((~found).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > reach
    return float((truth & far).sum() / truth.sum())


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
    box = _padded_box(region, int(np.ceil(4 * CHROMA_SIGMA)) + 1)
    ab = [rgb2lab(cv2.GaussianBlur(crop(image, box).astype(np.float32) / 255.0, (0, 0), CHROMA_SIGMA))[..., 1:]
          for image in (result, truth)]
    error = np.linalg.norm(ab[0] - ab[1], axis=2)
    return float(np.percentile(error[crop(region, box)], 90))


LIGHT_SIGMA = 0.08
"""light90 blurs L* with a Gaussian of this share of the region's height: patches, not pores or teeth."""


def lightness(image: np.ndarray) -> np.ndarray:
    """CIELAB L* (D65) of a uint8 sRGB image (H, W, 3): float (H, W) in [0, 100]."""
    from skimage.color import rgb2lab

    return rgb2lab(image.astype(np.float32) / 255.0)[..., 0]


def light90(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """90th percentile, over the true mask `region` (H, W) bool, of |L* result - L* truth| (CIELAB
    lightness of the uint8 sRGB images (H, W, 3)), each L* image blurred with a Gaussian of sigma
    `LIGHT_SIGMA` x the height of the region's bounding box: a fill paler or darker than the truth
    over a tenth of the region shows. 0 for identical images; a region shifted by a constant L* of
    s scores s when a tenth of it lies 4 sigma inside its border. About 5 is hard to see, above 20 a
    plain patch."""
    return float(np.percentile(np.abs(light_difference(result, truth, region)), 90))


def light_difference(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Float (N,): the signed blurred L* difference, result minus truth (positive: paler), at the N
    pixels of `region` (H, W) bool in row-major order, blurred as `light90` blurs them (uint8 sRGB
    images (H, W, 3))."""
    import cv2

    _check_pair(result, truth, None)
    region = _region(region, result)
    sigma = LIGHT_SIGMA * _height(region)
    box = _padded_box(region, int(np.ceil(4 * sigma)) + 1)
    light = [cv2.GaussianBlur(lightness(crop(image, box)), (0, 0), sigma) for image in (result, truth)]
    return (light[0] - light[1])[crop(region, box)]


COLLATERAL_SIGMA = 2.0
"""collateral blurs the CIELAB images with a Gaussian of this sigma (px) before comparing them."""
COLLATERAL_DE = 12.0
"""A pixel beside the mask is changed when its CIE76 colour difference exceeds this."""
COLLATERAL_GAP = 2.0
"""collateral ignores pixels this close (px) to the true region: its edge blurs into them."""


def collateral(result: np.ndarray, masked: np.ndarray, region: np.ndarray) -> float:
    """Share in [0, 1] of the ring around the true mask `region` (H, W) bool whose colour `result`
    changed visibly from the `masked` photo (both uint8 sRGB (H, W, 3)): damage to what the photo
    showed. The ring holds the pixels outside the region, more than `COLLATERAL_GAP` = 2 px and at
    most one region height (of its bounding box) from it (Euclidean distance); a pixel is changed
    when the CIE76 difference (Euclidean distance in CIELAB, D65) of the two images, each blurred
    with a Gaussian of sigma `COLLATERAL_SIGMA` = 2 px in CIELAB, exceeds `COLLATERAL_DE` = 12.
    0 when the result keeps every pixel outside the region."""
    import cv2
    from scipy.ndimage import distance_transform_edt

    _check_pair(result, masked, None)
    region = _region(region, result)
    reach = _height(region)
    box = _padded_box(region, int(np.ceil(reach + 4 * COLLATERAL_SIGMA)) + 1)
    inside = crop(region, box)
    distance = distance_transform_edt(~inside)
    ring = (distance > COLLATERAL_GAP) & (distance <= reach)
    lab = [cv2.GaussianBlur(_lab(crop(image, box)), (0, 0), COLLATERAL_SIGMA) for image in (result, masked)]
    changed = np.linalg.norm(lab[0] - lab[1], axis=2) > COLLATERAL_DE
    return float(changed[ring].mean()) if ring.any() else 0.0


SEAM_BAND = 0.03
"""The seam's bands on each side of the fill's border are this share of the region's height wide
(at least 3 px); the same length, as a Gaussian's sigma, is how far along the border they reach."""


def fill_area(result: np.ndarray, masked: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Bool (H, W): the pixels the fill covers, as far as the images tell: the true `region` and
    every pixel `result` changed from `masked` (see `unchanged`) within one region height of it,
    holes filled, only the part connected to the region."""
    from scipy.ndimage import binary_fill_holes, distance_transform_edt, label

    region = _region(region, result)
    near = distance_transform_edt(~region) <= _height(region)
    area = binary_fill_holes(region | (~unchanged(result, masked) & near))
    labels, _ = label(area)
    return np.isin(labels, np.unique(labels[region]))


def seam(result: np.ndarray, truth: np.ndarray, masked: np.ndarray, region: np.ndarray) -> float:
    """Step in lightness, in L*, along the fill's border that the truth does not have. The fill is
    `fill_area(result, masked, region)`; its border the fill's pixels next to a pixel outside it.
    Two bands each `SEAM_BAND` x region height wide (>= 3 px) run along the border, one inside the
    fill and one outside. At every border pixel the step is the Gaussian-weighted mean L* of the
    inside band minus that of the outside band (weights: a Gaussian of sigma one band width around
    the pixel), for `result` and for `truth`; the seam is the 90th percentile over the border of
    |step result - step truth|. 0 for the truth itself, s for a patch pasted s brighter; a border
    pixel without band pixels on both sides (the photo's edge) does not count. All uint8 sRGB
    (H, W, 3), `region` (H, W) bool."""
    steps = _border_steps(result, truth, masked, region, texture=False)
    return float(np.percentile(steps, 90)) if steps.size else 0.0


TEXTURE_SIGMA = 1.5
"""seam_texture's high-pass: L* minus L* blurred with a Gaussian of this sigma (px)."""


def seam_texture(result: np.ndarray, truth: np.ndarray, masked: np.ndarray, region: np.ndarray) -> float:
    """Change of sharpness across the fill's border that the truth does not have, in octaves
    (log2): as `seam`, but on the local texture energy, the square of L* minus L* blurred with a
    Gaussian of sigma `TEXTURE_SIGMA` = 1.5 px; the bands start 2 x `TEXTURE_SIGMA` = 3 px from the
    border (so that a lightness step's own edge is not counted as texture); the step at a border
    pixel is log2 of (inside band's mean energy + 1) / (outside band's + 1), and the measure the
    median over the border of |step result - step truth| (the median, not a high percentile: where
    a contour such as the jaw crosses the border, a shape that differs from the truth's changes the
    energy by several octaves; a fill smoother or sharper than the photo runs along most of the
    border). 0 for the truth itself; 1 where the fill has half (or twice) the texture energy the
    truth has there, relative to the outside: a smooth or oversharp patch."""
    steps = _border_steps(result, truth, masked, region, texture=True)
    return float(np.median(steps)) if steps.size else 0.0


def _border_steps(result: np.ndarray, truth: np.ndarray, masked: np.ndarray, region: np.ndarray,
                  texture: bool) -> np.ndarray:
    """|step result - step truth| at every border pixel of the fill with band pixels on both sides."""
    import cv2
    from scipy.ndimage import distance_transform_edt

    _check_pair(result, truth, None)
    _check_pair(result, masked, None)
    fill = fill_area(result, masked, region)
    band = max(3.0, SEAM_BAND * _height(region))
    box = _padded_box(fill, int(np.ceil(5 * band)) + 1)
    fill = crop(fill, box)
    if fill.all():
        return np.zeros(0)
    gap = 2 * TEXTURE_SIGMA if texture else 0.0  # a step's own high-pass energy stays out of the bands
    depth, away = distance_transform_edt(fill), distance_transform_edt(~fill)
    inside = fill & (depth > gap) & (depth <= gap + band)
    outside = ~fill & (away > gap) & (away <= gap + band)
    border = fill & (cv2.dilate((~fill).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)

    def local_mean(values: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weight = cv2.GaussianBlur(where.astype(np.float32), (0, 0), band)
        total = cv2.GaussianBlur((values * where).astype(np.float32), (0, 0), band)
        return total / np.maximum(weight, 1e-6), weight

    steps = []
    for image in (result, truth):
        light = lightness(crop(image, box)).astype(np.float32)
        if texture:
            light = np.square(light - cv2.GaussianBlur(light, (0, 0), TEXTURE_SIGMA))
        (mean_in, weight_in), (mean_out, weight_out) = local_mean(light, inside), local_mean(light, outside)
        step = np.log2((mean_in + 1) / (mean_out + 1)) if texture else mean_in - mean_out
        steps.append(step)
    valid = border & (weight_in > 0.05) & (weight_out > 0.05)
    return np.abs(steps[0] - steps[1])[valid]


def _lab(image: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(image.astype(np.float32) / 255.0).astype(np.float32)


def _height(region: np.ndarray) -> int:
    """Height in px of the bounding box of a non-empty bool region."""
    rows = np.flatnonzero(region.any(axis=1))
    return int(rows[-1] + 1 - rows[0])


def _padded_box(region: np.ndarray, pad: int) -> Box:
    """The region's bounding box grown by `pad` px on every side, clipped to the image."""
    y0, y1, x0, x1 = region_box(region, margin=0.0)
    height, width = region.shape
    return (max(0, y0 - pad), min(height, y1 + pad), max(0, x0 - pad), min(width, x1 + pad))


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
