"""The shift-tolerant LPIPS distance: reference values, known cases, masks, gradients, batching."""

from __future__ import annotations

import pytest
import torch

from unmask.errors import UnmaskError
from unmask.perceptual import Perceptual, perceptual

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest

# stlpips_pytorch 0.0.2, `stlpips.LPIPS(net=NET, variant="shift_tolerant")` (torchvision stubbed out,
# it is not used by these variants) on `_pattern(64, 48, 0.0)` vs `_pattern(64, 48, 0.9)`.
REFERENCE = {"alex": 0.533867359161377, "vgg": 0.7586069703102112}


def _pattern(h: int, w: int, phase: float) -> torch.Tensor:
    """A deterministic smooth colour pattern in [-1, 1], (1, 3, h, w)."""
    yy = torch.arange(h, dtype=torch.float64)[:, None]
    xx = torch.arange(w, dtype=torch.float64)[None, :]
    r = torch.sin(xx / 7.0 + phase) * torch.cos(yy / 11.0)
    g = torch.cos((xx + yy) / 13.0 + 2 * phase)
    b = (xx - yy) / (h + w)
    return torch.stack([r, g, b])[None].float().clamp(-1, 1)


@pytest.fixture(scope="module")
def alex() -> Perceptual:
    return perceptual("alex")


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    """Two different smooth 'images' (2, 3, 48, 48) with texture at several scales."""
    return torch.cat([_pattern(48, 48, 0.0), _pattern(48, 48, 2.0).flip(3)])


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_matches_reference_implementation(net):
    with torch.no_grad():
        value = Perceptual(net)(_pattern(64, 48, 0.0), _pattern(64, 48, 0.9))
    assert value.shape == (1,)
    assert value.item() == pytest.approx(REFERENCE[net], abs=1e-5)


def test_identical_images_are_at_distance_zero(alex, faces):
    with torch.no_grad():
        assert torch.all(alex(faces, faces) == 0)


def test_shift_is_small_and_noise_is_large(alex, faces):
    gen = torch.Generator().manual_seed(0)
    noise = torch.rand(faces.shape, generator=gen) * 2 - 1
    shifted = torch.roll(faces, shifts=(1, 2), dims=(2, 3))
    with torch.no_grad():
        d_shift = alex(faces, shifted)
        d_noise = alex(faces, noise)
    assert torch.all(d_shift > 0)
    assert torch.all(d_shift < 0.1)
    assert torch.all(d_noise > 0.5)


def test_batch_equals_one_by_one(alex, faces):
    other = faces.flip(0)
    with torch.no_grad():
        batch = alex(faces, other)
        single = torch.cat([alex(faces[i : i + 1], other[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(batch, single, rtol=1e-5, atol=1e-6)


def test_encode_compare_equals_forward(alex, faces):
    other = faces.flip(0)
    with torch.no_grad():
        torch.testing.assert_close(alex.compare(alex.encode(faces), alex.encode(other)), alex(faces, other))


def test_mask_restricts_the_distance(alex, faces):
    a = faces[:1]
    b = a.clone()
    b[:, :, :, :24] = -a[:, :, :, :24]  # differ on the left half only
    left = torch.zeros(1, 1, 48, 48)
    left[..., :24] = 1
    with torch.no_grad():
        full = alex(a, b)
        ones = alex(a, b, mask=torch.ones(1, 1, 48, 48))
        on_left = alex(a, b, mask=left)
        on_right = alex(a, b, mask=1 - left)
    torch.testing.assert_close(ones, full)
    assert on_right.item() < 0.5 * full.item() < on_left.item()


def test_gradient_flows_to_both_images_and_is_finite(alex):
    a = torch.zeros(2, 3, 48, 48, requires_grad=True)  # flat images: the sqrt(0) case
    b = _pattern(48, 48, 1.0).repeat(2, 1, 1, 1).requires_grad_(True)
    mask = torch.ones(2, 1, 48, 48)
    mask[:, :, 20:40, 10:40] = 0
    alex(a, b, mask=mask).sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in alex.parameters())


def test_stays_in_eval_mode(alex):
    alex.train()
    assert not alex.training


def test_cached_loader_shares_one_instance():
    assert perceptual("alex") is perceptual("alex", "cpu")


def test_bad_arguments_are_refused(alex, faces):
    with pytest.raises(UnmaskError, match="unknown perceptual network"):
        Perceptual("squeeze")
    with pytest.raises(ValueError, match="differ in shape"):
        alex(faces, faces[:, :, :40])
    with pytest.raises(ValueError, match="at least 21 px"):
        alex(faces[:, :, :20], faces[:, :, :20])
    with pytest.raises(ValueError, match="mask must be"):
        alex(faces, faces, mask=torch.ones(2, 3, 48, 48))
