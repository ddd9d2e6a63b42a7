"""A complete example that needs no download and no photo of the user's: its inputs are made here.

The reference is scikit-image's `astronaut` (Eileen Collins, a NASA photo in the public domain,
shipped inside the scikit-image package). The target is another view of the same face: mirrored,
slightly rotated and scaled, relit from one side, with a synthetic surgical mask painted on it, so
the reference faces the other way, as a second photo of a person often does. The unmasked view is
kept as the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from unmask.images import write_image

MASK_KIND = "surgical"


@dataclass
class DemoInputs:
    """reference, target (masked), truth (the target before masking): uint8 (H, W, 3); region:
    bool (H, W), the painted mask."""

    reference: np.ndarray
    target: np.ndarray
    truth: np.ndarray
    region: np.ndarray


def make_inputs(seed: int = 0) -> DemoInputs:
    """Build the demo's photos from scikit-image's astronaut (offline; see the module docstring)."""
    from skimage import data

    from unmask.face import find_face
    from unmask.region.synthetic import render_mask

    reference = np.ascontiguousarray(data.astronaut())
    truth = _other_view(reference)
    face = find_face(truth)
    target, region = render_mask(truth, face.landmarks, MASK_KIND, seed)
    return DemoInputs(reference=reference, target=target, truth=truth, region=region)


def _other_view(photo: np.ndarray) -> np.ndarray:
    """Mirrored, rotated by 7 degrees, scaled by 1.1 about the face, on a larger canvas, lit from
    the left (a horizontal gain ramp and warmer light)."""
    h, w = photo.shape[:2]
    mirrored = np.ascontiguousarray(photo[:, ::-1])
    centre = (w * 0.45, h * 0.3)
    matrix = cv2.getRotationMatrix2D(centre, 7.0, 1.1)
    matrix[:, 2] += (60, 40)
    size = (w + 120, h + 80)
    view = cv2.warpAffine(mirrored, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)
    ramp = np.linspace(1.12, 0.82, size[0])[None, :, None]
    tint = np.array([1.04, 1.0, 0.93])
    return np.clip(view * ramp * tint, 0, 255).astype(np.uint8)


def run_demo(out_dir: str | Path, progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Make the inputs, complete them with the `warp` method and write everything into `out_dir`:
    the inputs, the region, the ground truth, the result, the panel and the JSON record. Returns
    name -> path of each file written."""
    from unmask.face import Alignment
    from unmask.pipeline import complete

    say = progress or (lambda message: None)
    out = Path(out_dir)
    say("making the example photos from scikit-image's astronaut")
    inputs = make_inputs()
    paths = {
        "reference": write_image(out / "reference.png", inputs.reference),
        "masked": write_image(out / "masked.png", inputs.target),
        "mask": write_image(out / "mask.png", inputs.region.astype(np.uint8) * 255),
        "truth": write_image(out / "ground_truth.png", inputs.truth),
    }
    result = complete(paths["masked"], paths["reference"], mask=inputs.region, method="warp", progress=progress)
    alignment = Alignment.from_quad(np.asarray(result.record["alignment"]["quad"]), result.aligned.shape[0])
    result.steps["ground truth"] = alignment.crop_like(inputs.truth)
    result.record["demo"] = {"reference": "skimage.data.astronaut() (public domain, NASA)",
                             "mask_kind": MASK_KIND, "region_is": "the painted synthetic mask (exact)"}
    written = result.save(out / "result.png", panel=out / "panel.png", json=out / "result.json")
    paths.update(zip(("result", "panel", "record"), written))
    return paths
