"""Pivotal tuning (PTI, Roich et al. 2021): after projection, fine-tune a copy of the synthesis
network so that it renders the projected latents (the "pivots") as exactly the photos, keeping
personal details (moles, exact lip shape) that no latent of the original generator reproduces.

Defaults follow PTI's published configuration: Adam at 3e-4, loss = LPIPS + L2 (weights 1 and 1),
stop early once every image's LPIPS is below 0.06, at most 350 steps, optional locality
regularisation (a latent 30 units from the pivot towards a random w at truncation 0.5 must render
as before: L2 + LPIPS, weights 0.1 each). Differences: the perceptual distance is the shift-tolerant
LPIPS computed at the projection's loss resolution (256 px, area-downsampled), the L2 term is at full
resolution, the noise maps are the projection's, and the visible part of a masked photo is all that
counts (the hidden pixels take the generated values, as in `unmask.project`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from unmask.project import (Projection, StepCallback, downsample, downsample_visible, image_loss,
                            image_tensor, loss_network, progress_bar, report_step, visible_weights, bound_noise,
                            fill_hidden, masked_mse)


@dataclass(frozen=True)
class TuneSettings:
    """PTI's published defaults (see the module docstring)."""

    steps: int = 350
    lr: float = 3e-4
    lpips_weight: float = 1.0
    l2_weight: float = 1.0
    stop_lpips: float = 0.06
    locality_weight: float = 0.0  # 0: off (PTI's default); 1: PTI's locality regularisation on
    locality_alpha: float = 30.0
    loss_resolution: int = 256
    perceptual: str = "alex"


def pivotal_tuning(
    G,
    projection: Projection,
    images: torch.Tensor | np.ndarray,
    masks=None,
    settings: TuneSettings = TuneSettings(),
    seed: int = 0,
    progress: bool | StepCallback = False,
):
    """A deep copy of G whose synthesis network is fine-tuned so that `projection.ws` with
    `projection.noise` renders `images` (uint8 (N, R, R, 3) or [-1, 1] (N, 3, R, R)); `masks` as in
    `unmask.project.project` (True = hidden, left out). G itself is never modified."""
    device = next(G.parameters()).device
    tuned = copy.deepcopy(G).eval()
    tuned.requires_grad_(False)
    tuned.synthesis.requires_grad_(True)
    target = image_tensor(images, G.resolution).to(device)
    visible = visible_weights(masks, target.shape[0], G.resolution, device)
    res = min(settings.loss_resolution, G.resolution)
    distance = loss_network(settings.perceptual, device)
    optimizer = torch.optim.Adam([p for p in tuned.synthesis.parameters() if p.requires_grad], lr=settings.lr)
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    small_target, small_visible = downsample(target, res), downsample_visible(visible, res)
    ws = projection.ws.to(device)
    noise = [n.to(device) for n in projection.noise]
    bar = progress_bar(settings.steps, progress)
    with bound_noise(tuned, noise):
        for step in range(settings.steps):
            synth = tuned.synthesis(ws, noise_mode="const")
            lpips = image_loss(distance, downsample(synth, res), small_target, small_visible, 0.0)
            if bool((lpips < settings.stop_lpips).all()):
                break
            l2 = masked_mse(synth, fill_hidden(target, synth, visible), visible)
            loss = settings.lpips_weight * lpips + settings.l2_weight * l2
            if settings.locality_weight:
                loss = loss + settings.locality_weight * _locality(G, tuned, ws, distance, res, settings, rng)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            optimizer.step()
            report_step(bar, progress, step, settings.steps, float(loss.detach().sum()))
    if bar is not None:
        bar.close()
    return tuned.requires_grad_(False)


def _locality(G, tuned, ws: torch.Tensor, distance, res: int, settings: TuneSettings,
              rng: torch.Generator) -> torch.Tensor:
    """PTI's locality regulariser: a latent `alpha` away from each pivot, towards a random w (at
    truncation 0.5), must render as the original generator renders it (L2 + LPIPS, 0.1 each). (N,)"""
    with torch.no_grad():
        z = torch.randn(ws.shape[0], G.z_dim, generator=rng, device=ws.device)
        direction = G.mapping(z, None, truncation_psi=0.5) - ws
        direction = direction / direction.flatten(1).norm(dim=1).clamp_min(1e-8)[:, None, None]
        probe = ws + settings.locality_alpha * direction
        before = G.synthesis(probe, noise_mode="none")
    after = tuned.synthesis(probe, noise_mode="none")
    l2 = (after - before).square().mean(dim=(1, 2, 3))
    return 0.1 * l2 + 0.1 * distance(downsample(after, res), downsample(before, res))
