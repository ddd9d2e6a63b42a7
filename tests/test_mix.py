"""Style mixing by resolution bands: which source drives which style index."""

from __future__ import annotations

import pytest
import torch

from unmask.errors import UnmaskError
from unmask.gan import num_ws, style_indices
from unmask.mix import mix_noise, mix_plan, mix_styles, parse_resolutions


def _latents(n: int, value: float, w_dim: int = 4) -> torch.Tensor:
    return torch.full((1, n, w_dim), value)


def test_paper_defaults_at_1024():
    """18 style inputs: target at 4x4 and 8x8 (0-3), expression at 16x16 (4, 5), reference after."""
    plan = mix_plan(18, with_expression=True)
    assert plan == ["target"] * 4 + ["expression"] * 2 + ["reference"] * 12
    assert mix_plan(18) == ["target"] * 4 + ["reference"] * 14  # no expression face: 16x16 is the reference's


@pytest.mark.parametrize("resolution", [32, 64, 256, 1024])
def test_every_band_maps_through_style_indices(resolution):
    n = num_ws(resolution)
    for res in (2**j for j in range(2, resolution.bit_length())):
        plan = mix_plan(n, pose_res=(res,), expression_res=())
        assert [i for i, name in enumerate(plan) if name == "target"] == list(style_indices(res))


def test_mix_styles_takes_each_row_from_its_source():
    n = num_ws(64)  # 10
    mixed = mix_styles(_latents(n, 1.0), _latents(n, 2.0), _latents(n, 3.0), pose_res=(4,), expression_res=(8, 16))
    assert mixed[0, :, 0].tolist() == [1, 1, 3, 3, 3, 3, 2, 2, 2, 2]
    target = torch.randn(2, n, 4)
    reference = torch.randn(2, n, 4)
    out = mix_styles(target, reference)
    assert torch.equal(out[:, :4], target[:, :4]) and torch.equal(out[:, 4:], reference[:, 4:])
    assert out.shape == target.shape


def test_mix_noise_follows_the_same_bands():
    shapes = [4, 8, 8, 16, 16]  # a 16 px generator's noise maps, in layer order
    maps = {name: [torch.full((1, 1, r, r), value) for r in shapes] for name, value in
            (("t", 1.0), ("r", 2.0), ("e", 3.0))}
    out = mix_noise(maps["t"], maps["r"], maps["e"], pose_res=(4, 8), expression_res=(16,))
    assert [float(m.flatten()[0]) for m in out] == [1, 1, 1, 3, 3]
    out = mix_noise(maps["t"], maps["r"], None, pose_res=(8,))
    assert [float(m.flatten()[0]) for m in out] == [2, 1, 1, 2, 2]


def test_bad_bands_are_user_errors():
    with pytest.raises(UnmaskError, match="pose"):
        mix_plan(10, pose_res=(4, 8), expression_res=(8,), with_expression=True)
    with pytest.raises(UnmaskError, match="--pose-res"):
        mix_plan(10, pose_res=(128,))
    with pytest.raises(UnmaskError, match="--expression-res"):
        mix_plan(10, expression_res=(12,), with_expression=True)


def test_parse_resolutions():
    assert parse_resolutions("4,8") == (4, 8)
    assert parse_resolutions("4-16") == (4, 8, 16)
    assert parse_resolutions(16) == (16,)
    assert parse_resolutions([4, 8]) == (4, 8)
    assert parse_resolutions("") == ()
    with pytest.raises(ValueError):
        parse_resolutions("four")
