"""`unmask project`: project one face into StyleGAN2's latent space and save the latent."""

from __future__ import annotations

from pathlib import Path

import click

from unmask.errors import UnmaskError


@click.command("project")
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--weights", required=True, help="Generator weights (a file or a model-zoo name).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Where to write the latent (.npz: ws, noise_0.., losses, image).")
@click.option("--space", type=click.Choice(["w", "w+"]), default="w", show_default=True,
              help="One latent for all layers (w) or one per layer (w+).")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True,
              help="lbfgs: fast (40 steps); adam: NVIDIA's projector (1000 steps, full render, VGG).")
@click.option("--steps", type=int, help="Optimisation steps (default: 40 for lbfgs, 1000 for adam).")
@click.option("--mask", type=click.Path(path_type=Path),
              help="Region to leave out of the loss, an image of the photo's size (white = hidden).")
@click.option("--aligned", is_flag=True, help="PHOTO is already an FFHQ-aligned crop at the generator's size.")
@click.option("--face", type=int, help="Which face of the photo to project (0 = largest).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--preview", type=click.Path(path_type=Path), help="Also write the projected image (.png/.jpg).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def project(photo: Path, weights: str, output: Path, space: str, optimizer: str, steps: int | None, mask: Path | None,
            aligned: bool, face: int | None, seed: int, preview: Path | None, quiet: bool) -> None:
    """Project the face in PHOTO into the latent space of --weights and write it to -o.

    \b
    Example:
      unmask project me.jpg --weights ffhq-1024 -o me.npz --space w+ --preview me_projected.png
    """
    import numpy as np

    from unmask.gan import load_generator
    from unmask.images import read_image, to_uint8, write_image
    from unmask.pipeline import check_outputs
    from unmask.region.finder import load_user_mask
    from unmask.project import ProjectSettings, project as run_projection

    inputs = [p for p in (photo, mask) if p is not None]
    check_outputs([output, preview], inputs)
    G = load_generator(weights)
    image = read_image(photo)
    hidden = None
    if aligned:
        if image.shape[:2] != (G.resolution, G.resolution):
            raise UnmaskError(f"an aligned face must be {G.resolution}x{G.resolution} for these weights, "
                              f"got {image.shape[1]}x{image.shape[0]}", photo)
        if mask is not None:
            hidden = load_user_mask(mask, image.shape[:2])
    else:
        from unmask.face import align_face, find_face

        found = find_face(image, index=face, path=photo)
        crop, alignment = align_face(image, found.landmarks, G.resolution)
        if mask is not None:
            hidden = alignment.region_to_crop(load_user_mask(mask, image.shape[:2]))
        image = crop
    settings = (ProjectSettings.official if optimizer == "adam" else ProjectSettings)(space=space)
    if steps is not None:
        settings = settings.replace(steps=steps)
    result = run_projection(G, image, None if hidden is None else [hidden], settings, seed=seed,
                            progress=not quiet)
    click.echo(str(result.save(output, protect=inputs)))
    if preview is not None:
        click.echo(str(write_image(preview, to_uint8(result.image)[0], protect=inputs)))
    if not quiet:
        click.echo(f"final loss {float(np.sum(result.losses[-1])):.4f}", err=True)
