"""The StyleGAN2 generator: shapes, style layout, truncation, noise, early stop, gradients."""

from __future__ import annotations

import pytest
import torch

from unmask.gan import Generator, GeneratorConfig, band_indices, num_ws, style_indices
from unmask.gan import ops

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def G() -> Generator:
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(resolution=32, z_dim=16, w_dim=16, mapping_layers=2,
                                  channel_base=256, channel_max=16)).eval()
    with torch.no_grad():
        for block in (g.synthesis.b4, g.synthesis.b8, g.synthesis.b16, g.synthesis.b32):
            for layer in ("conv0", "conv1"):
                if hasattr(block, layer):
                    getattr(block, layer).noise_strength.fill_(0.5)
        g.mapping.w_avg.normal_()
    return g


def test_style_layout_matches_design():
    assert list(style_indices(4)) == [0, 1]
    assert list(style_indices(8)) == [2, 3]
    assert list(style_indices(1024)) == [16, 17]
    assert num_ws(1024) == 18 and num_ws(256) == 14 and num_ws(4) == 2
    assert band_indices([4, 8], 14) == [0, 1, 2, 3]
    assert band_indices([16], 14) == [4, 5]
    with pytest.raises(ValueError):
        band_indices([512], 14)
    with pytest.raises(ValueError):
        style_indices(12)


def test_generator_layer_indices_follow_nvidia_slicing(G):
    # NVIDIA gives block r the ws slice [w_idx, w_idx + num_conv + num_torgb) with w_idx advancing
    # by num_conv: conv0, conv1, torgb of block 2^j read 2j-5, 2j-4, 2j-3.
    used = []
    for j, res in enumerate(G.synthesis.block_resolutions, start=2):
        block = getattr(G.synthesis, f"b{res}")
        if res > 4:
            assert block.w_conv0 == 2 * j - 5
        assert (block.w_conv1, block.w_torgb) == (2 * j - 4, 2 * j - 3)
        used += [block.w_conv1, block.w_torgb]
    assert used == list(range(G.num_ws))


def test_shapes_and_attributes(G):
    assert (G.z_dim, G.w_dim, G.c_dim, G.resolution, G.num_ws, G.img_channels) == (16, 16, 0, 32, 8, 3)
    z = torch.randn(3, 16)
    ws = G.mapping(z)
    assert ws.shape == (3, 8, 16)
    assert torch.equal(ws[:, 0], ws[:, 7])
    img = G.synthesis(ws)
    assert img.shape == (3, 3, 32, 32) and img.dtype == torch.float32
    assert torch.allclose(G(z), img)
    assert G.mapping.w_avg.shape == (16,)


def test_truncation(G):
    z = torch.randn(2, 16)
    ws = G.mapping(z)
    assert torch.allclose(G.mapping(z, truncation_psi=0.0), G.mapping.w_avg.expand_as(ws))
    half = G.mapping(z, truncation_psi=0.5)
    assert torch.allclose(half, G.mapping.w_avg + 0.5 * (ws - G.mapping.w_avg), atol=1e-6)
    cut = G.mapping(z, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.allclose(cut[:, :2], half[:, :2]) and torch.equal(cut[:, 2:], ws[:, 2:])


def test_noise_modes(G):
    ws = G.mapping(torch.randn(1, 16))
    const1 = G.synthesis(ws, noise_mode="const")
    assert torch.equal(const1, G.synthesis(ws, noise_mode="const"))
    assert not torch.allclose(G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random"))
    assert not torch.allclose(const1, G.synthesis(ws, noise_mode="none"))
    with pytest.raises(ValueError):
        G.synthesis(ws, noise_mode="loud")


def test_until_resolution_is_the_skip_image(G):
    ws = G.mapping(torch.randn(2, 16))
    assert torch.equal(G.synthesis(ws, until_resolution=32), G.synthesis(ws))
    low = G.synthesis(ws, until_resolution=16)
    assert low.shape == (2, 3, 16, 16)
    # The full image is the 16x16 skip image upsampled plus the 32x32 block's own RGB output.
    x = img = None
    for res in (4, 8, 16):
        x, img = getattr(G.synthesis, f"b{res}")(x, img, ws, "const")
    assert torch.allclose(img, low)
    _, full = G.synthesis.b32(x, img, ws, "const")
    assert torch.allclose(full, G.synthesis(ws))
    with pytest.raises(ValueError):
        G.synthesis(ws, until_resolution=12)


def test_gradients_reach_ws_and_noise_buffers(G):
    ws = G.mapping(torch.randn(1, 16)).detach().requires_grad_(True)
    noises = G.synthesis.noise_buffers()
    assert [tuple(n.shape) for n in noises] == [(1, 1, 4, 4), (1, 1, 8, 8), (1, 1, 8, 8), (1, 1, 16, 16),
                                                (1, 1, 16, 16), (1, 1, 32, 32), (1, 1, 32, 32)]
    for n in noises:
        n.requires_grad_(True)
    try:
        G.synthesis(ws).square().mean().backward()
        assert ws.grad is not None and ws.grad.abs().sum() > 0
        assert all(n.grad is not None and n.grad.abs().sum() > 0 for n in noises)
    finally:
        for n in noises:
            n.requires_grad_(False)
            n.grad = None


def test_upfirdn_upsample_keeps_constant_and_shape():
    f = ops.setup_filter()
    x = torch.ones(1, 2, 5, 5)
    up = ops.upsample2d(x, f)
    assert up.shape == (1, 2, 10, 10)
    assert torch.allclose(up[:, :, 2:-2, 2:-2], torch.ones(1, 2, 6, 6))
    w = torch.randn(4, 2, 3, 3)
    assert ops.modulated_conv2d(x, w, torch.ones(1, 2), up=True, resample_filter=f).shape == (1, 4, 10, 10)


def test_modulated_conv_batch_equals_one_by_one():
    torch.manual_seed(0)
    x, w, s = torch.randn(3, 4, 6, 6), torch.randn(5, 4, 3, 3), torch.randn(3, 4)
    f = ops.setup_filter()
    for up in (False, True):
        batch = ops.modulated_conv2d(x, w, s, up=up, resample_filter=f)
        single = torch.cat([ops.modulated_conv2d(x[i:i + 1], w, s[i:i + 1], up=up, resample_filter=f)
                            for i in range(3)])
        assert torch.allclose(batch, single, atol=1e-5)
        # demodulated: each output channel has unit expected magnitude whatever the style scale
        assert torch.allclose(ops.modulated_conv2d(x, w, s * 7, up=up, resample_filter=f), batch, atol=1e-4)


def test_conv_clamp_limits_activations():
    torch.manual_seed(1)
    cfg = dict(resolution=8, z_dim=8, w_dim=8, mapping_layers=1, channel_base=64, channel_max=8)
    clamped = Generator(GeneratorConfig(conv_clamp=0.5, **cfg)).eval()
    free = Generator(GeneratorConfig(**cfg)).eval()
    free.load_state_dict(clamped.state_dict())
    ws = clamped.mapping(torch.randn(1, 8)) * 50
    a, b = clamped.synthesis(ws), free.synthesis(ws)
    assert not torch.allclose(a, b)
    # 8x8 ToRGB output (clamped to 0.5) + the upsampled, clamped 4x4 image (positive taps, sum 1).
    assert a.abs().max() <= 1.0 + 1e-5
