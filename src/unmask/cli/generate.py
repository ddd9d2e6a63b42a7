"""`unmask generate` (faces from random seeds) and `unmask mix` (a style-mixing grid)."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from unmask.errors import UnmaskError


def parse_int_list(text: str, option: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]. UnmaskError naming `option` for anything else."""
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            first, last = int(lo), int(hi) if hi else int(lo)
            if first < 0 or last < first:
                raise ValueError(part)
            out.extend(range(first, last + 1))
    except ValueError:
        raise UnmaskError(f"{option} '{text}': expected non-negative numbers and ranges like 0-7,9") from None
    return out


def parse_resolutions(text: str, option: str) -> list[int]:
    """'4-16' -> [4, 8, 16]; '16,64' -> [16, 64]. Each end must be a power of two >= 4."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi) if hi else int(lo)
        except ValueError:
            raise UnmaskError(f"{option} '{text}': expected resolutions like 4-8 or 16,32") from None
        for value in (first, last):
            if value < 4 or value & (value - 1):
                raise UnmaskError(f"{option} '{text}': {value} is not a resolution (4, 8, 16, ... 1024)")
        res = first
        while res <= last:
            out.append(res)
            res *= 2
    return sorted(set(out))


def seed_latents(seeds: list[int], z_dim: int):
    """One z per seed, drawn as NVIDIA's generate.py does (numpy RandomState(seed).randn), so the
    same seed gives the same face as their scripts. -> float32 tensor (len(seeds), z_dim)."""
    import torch

    return torch.from_numpy(np.stack([np.random.RandomState(s).randn(z_dim) for s in seeds]).astype(np.float32))


_weights_option = click.option("--weights", "-w", required=True, metavar="NAME_OR_PATH",
                               help="Zoo name (see `unmask weights list`) or weights file.")
_trunc_option = click.option("--trunc", type=click.FloatRange(0, 2), default=1.0, show_default=True,
                             help="Truncation psi: below 1 pulls faces towards the average face.")
_noise_option = click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const",
                             show_default=True, help="Per-pixel noise inputs.")
_device_option = click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cuda.")


@click.command()
@_weights_option
@click.option("--seeds", default="0-7", show_default=True, help="Seeds, e.g. 0-7 or 1,5,9.")
@_trunc_option
@_noise_option
@_device_option
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for seedNNNN.png.")
def generate(weights: str, seeds: str, trunc: float, noise_mode: str, device: str, outdir: Path) -> None:
    """Generate one face per seed with a StyleGAN2 generator.

    \b
    Example:
      unmask generate --weights ffhq-256 --seeds 0-7 --trunc 0.7 -o faces/
    """
    import torch

    from unmask.gan import load_generator
    from unmask.images import to_uint8, write_image

    seed_list = parse_int_list(seeds, "--seeds")
    G = load_generator(weights, device=device)
    for seed in seed_list:
        z = seed_latents([seed], G.z_dim).to(device)
        with torch.no_grad():
            img = G(z, truncation_psi=trunc, noise_mode=noise_mode)
        out = write_image(outdir / f"seed{seed:04d}.png", to_uint8(img)[0])
        click.echo(str(out))


@click.command()
@_weights_option
@click.option("--rows", default="0-3", show_default=True, help="Seeds of the rows (they keep the other styles).")
@click.option("--cols", default="4-7", show_default=True, help="Seeds of the columns (they give the bands).")
@click.option("--bands", default="4-8", show_default=True,
              help="Resolutions whose styles come from the column seed, e.g. 4-8 (pose), 16-32, 64-1024.")
@_trunc_option
@_noise_option
@_device_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Grid image (.png, .jpg).")
def mix(weights: str, rows: str, cols: str, bands: str, trunc: float, noise_mode: str, device: str,
        output: Path) -> None:
    """Draw a style-mixing grid: the first row shows the column seeds, the first column the row
    seeds, and cell (r, c) renders row seed r with the styles of --bands taken from column seed c.

    \b
    Example:
      unmask mix --weights ffhq-256 --rows 0-3 --cols 4-7 --bands 4-8 -o grid.png
    """
    import torch

    from unmask.gan import band_indices, load_generator
    from unmask.images import to_uint8, write_image

    row_seeds, col_seeds = parse_int_list(rows, "--rows"), parse_int_list(cols, "--cols")
    resolutions = parse_resolutions(bands, "--bands")
    G = load_generator(weights, device=device)
    try:
        idx = band_indices(resolutions, G.num_ws)
    except ValueError:
        raise UnmaskError(f"--bands '{bands}' goes above this generator's {G.resolution}px") from None

    def render(ws: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return to_uint8(G.synthesis(ws, noise_mode=noise_mode))[0]

    def styles(seeds: list[int]) -> torch.Tensor:
        with torch.no_grad():
            return G.mapping(seed_latents(seeds, G.z_dim).to(device), truncation_psi=trunc)

    row_ws, col_ws = styles(row_seeds), styles(col_seeds)
    size = G.resolution
    grid = np.full(((len(row_seeds) + 1) * size, (len(col_seeds) + 1) * size, 3), 255, np.uint8)
    for c in range(len(col_seeds)):
        grid[:size, (c + 1) * size:(c + 2) * size] = render(col_ws[c:c + 1])
    for r in range(len(row_seeds)):
        grid[(r + 1) * size:(r + 2) * size, :size] = render(row_ws[r:r + 1])
        for c in range(len(col_seeds)):
            ws = row_ws[r:r + 1].clone()
            ws[:, idx] = col_ws[c:c + 1, idx]
            grid[(r + 1) * size:(r + 2) * size, (c + 1) * size:(c + 2) * size] = render(ws)
    write_image(output, grid)
    click.echo(f"{output}: {len(row_seeds)}x{len(col_seeds)} grid, bands {resolutions} = style indices {idx}")
