"""`unmask generate` and `unmask mix` on a tiny checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gan_fixtures import make_tiny_generator, write_nvidia_tf_pickle
from unmask.cli import cli
from unmask.cli.generate import parse_int_list, parse_resolutions, seed_latents
from unmask.errors import UnmaskError
from unmask.gan import band_indices, load_generator
from unmask.images import read_image, to_uint8

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_nvidia_tf_pickle(make_tiny_generator(resolution=32), tmp_path_factory.mktemp("w") / "tiny.pkl")


def test_parsers():
    assert parse_int_list("0-3,7", "--seeds") == [0, 1, 2, 3, 7]
    assert parse_resolutions("4-16", "--bands") == [4, 8, 16]
    assert parse_resolutions("64,16", "--bands") == [16, 64]
    for bad in ("x", "3-1", "-2"):
        with pytest.raises(UnmaskError, match="--seeds"):
            parse_int_list(bad, "--seeds")
    with pytest.raises(UnmaskError, match="not a resolution"):
        parse_resolutions("4-12", "--bands")


def test_generate_writes_one_image_per_seed(weights, tmp_path):
    out = tmp_path / "faces"
    result = CliRunner().invoke(cli, ["generate", "--weights", str(weights), "--seeds", "0-2",
                                      "--trunc", "0.7", "-o", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["seed0000.png", "seed0001.png", "seed0002.png"]
    G = load_generator(weights)
    with torch.no_grad():
        expected = to_uint8(G(seed_latents([1], G.z_dim), truncation_psi=0.7))[0]
    assert np.array_equal(read_image(out / "seed0001.png"), expected)


def test_mix_grid(weights, tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli, ["mix", "--weights", str(weights), "--rows", "0-1", "--cols", "2-4",
                                      "--bands", "4-8", "-o", str(out)])
    assert result.exit_code == 0, result.output
    grid = read_image(out)
    assert grid.shape == (3 * 32, 4 * 32, 3)
    assert (grid[:32, :32] == 255).all()
    G = load_generator(weights)
    with torch.no_grad():
        row = G.mapping(seed_latents([1], G.z_dim))
        col = G.mapping(seed_latents([3], G.z_dim))
        idx = band_indices([4, 8], G.num_ws)
        row[:, idx] = col[:, idx]
        cell = to_uint8(G.synthesis(row))[0]
    assert idx == [0, 1, 2, 3]
    assert np.array_equal(grid[64:96, 64:96], cell)  # row seed 1, column seed 3


def test_mix_rejects_bands_above_the_generator(weights, tmp_path):
    result = CliRunner().invoke(cli, ["mix", "--weights", str(weights), "--bands", "64", "-o", str(tmp_path / "g.png")])
    assert isinstance(result.exception, UnmaskError) and "32px" in str(result.exception)
