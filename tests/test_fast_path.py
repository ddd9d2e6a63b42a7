"""The fast projection path equals the plain path wherever it is meant to be exact (issue 6).

One test per exact change: stopping synthesis at a resolution, the fused (grouped) modulated
convolution for a batch, the target encoded once for the perceptual loss, and a batched projection.
The approximation (`render="skip"` below the generator's resolution) is measured for quality in
benchmarks/bench_speed.py, not here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_fixtures import make_tiny_generator
from unmask.gan import ops
from unmask.project import ProjectSettings, image_loss, project


@pytest.fixture(scope="module")
def G():
    return make_tiny_generator(resolution=32, seed=3, conv_clamp=256.0).requires_grad_(False)


@pytest.mark.parametrize("until", [8, 16])
def test_until_resolution_is_the_skip_image_of_a_full_pass(G, one_torch_thread, until):
    ws = G.mapping(torch.randn(2, G.z_dim))
    seen = {}
    block = getattr(G.synthesis, f"b{until}")

    def keep(module, args, out) -> None:  # returns None: the block's output is left as it is
        seen["img"] = out[1].clone()

    handle = block.register_forward_hook(keep)
    try:
        full = G.synthesis(ws, noise_mode="const")
    finally:
        handle.remove()
    early = G.synthesis(ws, noise_mode="const", until_resolution=until)
    assert full.shape[-1] == 32 and early.shape == (2, 3, until, until)
    assert torch.equal(early, seen["img"])
    both = G.synthesis.with_skip_image(ws, until)  # the two from one pass
    assert torch.equal(both[0], full) and torch.equal(both[1], early)


@pytest.mark.parametrize("up", [False, True])
def test_grouped_modulated_conv_equals_per_sample_reference(one_torch_thread, up):
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 8, 6, 6), torch.randn(5, 8, 3, 3), torch.randn(3, 8)
    f = ops.setup_filter()
    fused = ops.modulated_conv2d(x, weight, styles, demodulate=True, up=up, resample_filter=f)
    for i in range(3):  # reference: modulate the activations, shared-weight conv, demodulate outputs
        xi = x[i:i + 1] * styles[i].reshape(1, -1, 1, 1)
        if up:  # NVIDIA's conv2d_resample general path: FIR-upsample with padding 1 + (2, 1), then a
            # valid convolution; their up layers pass flip_weight=False, i.e. a true (flipped) convolution
            yi = F.conv2d(ops.upfirdn2d(xi, f, up=2, padding=(3, 2, 3, 2), gain=4.0), weight.flip([2, 3]))
        else:
            yi = F.conv2d(xi, weight, padding=1)
        demod = ((weight * styles[i].reshape(1, -1, 1, 1)).square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt()
        expected = yi * demod.reshape(1, -1, 1, 1)
        assert fused.shape[-1] == (12 if up else 6)
        torch.testing.assert_close(fused[i:i + 1], expected, rtol=1e-5, atol=1e-5)


def test_target_encoded_once_gives_the_same_loss_and_gradient(one_torch_thread):
    from unmask.perceptual import perceptual

    distance = perceptual("alex")
    torch.manual_seed(1)
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    synth = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    plain = image_loss(distance, synth, target, None, 1.0)
    (grad_plain,) = torch.autograd.grad(plain.sum(), synth)
    with torch.no_grad():
        features = distance.encode(target)
    once = image_loss(distance, synth, target, None, 1.0, features)
    (grad_once,) = torch.autograd.grad(once.sum(), synth)
    torch.testing.assert_close(once, plain, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(grad_once, grad_plain, rtol=1e-5, atol=1e-8)


def test_skip_render_at_the_generator_resolution_is_the_full_render(G, one_torch_thread):
    images = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    settings = ProjectSettings(steps=3, loss_resolution=32, w_avg_samples=200)
    full = project(G, images, settings=settings.replace(render="full"))
    skip = project(G, images, settings=settings.replace(render="skip"))
    np.testing.assert_array_equal(full.losses, skip.losses)
    assert torch.equal(full.ws, skip.ws)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_batched_projection_equals_one_image_at_a_time(G, one_torch_thread, optimizer):
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    settings = ProjectSettings(optimizer=optimizer, steps=6, loss_resolution=32, w_avg_samples=200)
    both = project(G, images, settings=settings, seed=5)
    for i in range(2):
        alone = project(G, images[i:i + 1], settings=settings, seed=5)
        # equal up to float rounding: batched convolutions sum in another order
        torch.testing.assert_close(both.ws[i:i + 1], alone.ws, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(both.losses[:, i], alone.losses[:, 0], rtol=1e-4)
