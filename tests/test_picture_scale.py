"""gan.picture_scale: random generators with a trained generator's output scale."""

from __future__ import annotations

import pytest
import torch
from gan_fixtures import make_tiny_generator

from unmask.gan.picture_scale import rescale_to_rgb

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_images_stay_in_range_and_finer_blocks_add_less():
    G = make_tiny_generator(64, seed=0)
    z = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert (G(z).abs() > 1).float().mean() > 0.1  # as initialised: much of the image clipped
        rescale_to_rgb(G)
        images = G(z)
        assert (images.abs() > 1).float().mean() < 0.01
        ws = G.mapping(z)
        steps = [G.synthesis(ws, until_resolution=r) for r in G.synthesis.block_resolutions]
    added = [float((fine - torch.nn.functional.interpolate(coarse, scale_factor=2, mode="bilinear")).std())
             for coarse, fine in zip(steps, steps[1:])]
    assert added == sorted(added, reverse=True), added


def test_only_the_rgb_layers_change():
    G = make_tiny_generator(32, seed=1)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    rescale_to_rgb(G)
    changed = {k for k, v in G.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".torgb.weight" in k or ".torgb.bias" in k for k in changed)
