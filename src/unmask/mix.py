"""Style mixing by resolution bands: the target's pose, the reference's identity, another face's
expression.

A generator of resolution R has `num_ws` style inputs; resolution r owns the indices
`unmask.gan.style_indices(r)` (4x4 -> 0, 1; 8x8 -> 2, 3; 16x16 -> 4, 5; ...). Mixing is said in
resolutions and converted through `unmask.gan.band_indices`, the one place that knows the layout.
The paper's defaults: the target's latent drives 4x4 and 8x8 (head pose, face outline), an
expression face drives 16x16 (how the mouth opens), the reference drives everything else.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from unmask.errors import UnmaskError
from unmask.gan import band_indices

POSE_RES: tuple[int, ...] = (4, 8)
EXPRESSION_RES: tuple[int, ...] = (16,)


def mix_plan(
    num_ws: int,
    pose_res: Sequence[int] = POSE_RES,
    expression_res: Sequence[int] = EXPRESSION_RES,
    with_expression: bool = False,
) -> list[str]:
    """Which source drives each style index: a list of `num_ws` names, each one of "target",
    "expression", "reference". Raises `UnmaskError` for overlapping or impossible bands."""
    overlap = set(pose_res) & set(expression_res) if with_expression else set()
    if overlap:
        raise UnmaskError(
            f"resolution(s) {sorted(overlap)} are given to both the pose (target) and the expression face; "
            "choose each resolution for one of them"
        )
    plan = ["reference"] * num_ws
    for i in _indices(pose_res, num_ws, "--pose-res"):
        plan[i] = "target"
    if with_expression:
        for i in _indices(expression_res, num_ws, "--expression-res"):
            plan[i] = "expression"
    return plan


def mix_styles(
    target_ws: torch.Tensor,
    reference_ws: torch.Tensor,
    expression_ws: torch.Tensor | None = None,
    pose_res: Sequence[int] = POSE_RES,
    expression_res: Sequence[int] = EXPRESSION_RES,
) -> torch.Tensor:
    """Mix per-layer latents (N, num_ws, w_dim): the target's at `pose_res`, the expression face's
    at `expression_res` (when given), the reference's at every other resolution. Returns a new
    tensor of the same shape; the inputs are untouched."""
    if target_ws.shape != reference_ws.shape or target_ws.dim() != 3:
        raise ValueError(f"expected two (N, num_ws, w_dim) latents, got {tuple(target_ws.shape)} and "
                         f"{tuple(reference_ws.shape)}")
    if expression_ws is not None and expression_ws.shape != target_ws.shape:
        raise ValueError(f"expression latent {tuple(expression_ws.shape)} differs from {tuple(target_ws.shape)}")
    sources = {"target": target_ws, "reference": reference_ws, "expression": expression_ws}
    plan = mix_plan(target_ws.shape[1], pose_res, expression_res, expression_ws is not None)
    return torch.stack([sources[name][:, i] for i, name in enumerate(plan)], dim=1)


def mix_noise(
    target_noise: list[torch.Tensor],
    reference_noise: list[torch.Tensor],
    expression_noise: list[torch.Tensor] | None = None,
    pose_res: Sequence[int] = POSE_RES,
    expression_res: Sequence[int] = EXPRESSION_RES,
) -> list[torch.Tensor]:
    """Mix noise maps (each (N, 1, r, r)) by the same bands as `mix_styles`: a map of resolution r
    comes from whichever face drives the styles of r."""
    sources = {"target": target_noise, "reference": reference_noise, "expression": expression_noise}
    with_expression = expression_noise is not None
    for name in ("target", "expression"):
        if sources[name] is not None and len(sources[name]) != len(reference_noise):
            raise ValueError(f"{name} has {len(sources[name])} noise maps, reference {len(reference_noise)}")
    driver = {}
    for res in {int(n.shape[-1]) for n in reference_noise}:
        driver[res] = "reference"
        if res in pose_res:
            driver[res] = "target"
        elif with_expression and res in expression_res:
            driver[res] = "expression"
    return [sources[driver[int(n.shape[-1])]][i] for i, n in enumerate(reference_noise)]


def parse_resolutions(value: Any) -> tuple[int, ...]:
    """Resolutions from an int (8), a sequence ((4, 8)) or text ("4,8", "4-8" = 4 to 8, "" = none)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        if "-" in text:
            low, _, high = text.partition("-")
            try:
                low_res, high_res = int(low), int(high)
            except ValueError:
                raise ValueError(f"cannot read resolutions from {value!r}; write e.g. '4,8' or '4-8'") from None
            return tuple(2**j for j in range(low_res.bit_length() - 1, high_res.bit_length()) if 2**j >= low_res)
        try:
            return tuple(int(part) for part in text.split(","))
        except ValueError:
            raise ValueError(f"cannot read resolutions from {value!r}; write e.g. '4,8' or '4-8'") from None
    return tuple(int(v) for v in value)


def _indices(resolutions: Sequence[int], num_ws: int, option: str) -> list[int]:
    try:
        return list(band_indices(tuple(resolutions), num_ws))
    except (ValueError, IndexError) as exc:
        raise UnmaskError(f"{option}: {exc}") from None
