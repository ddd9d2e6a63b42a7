"""`unmask region`: find the face-mask region of a photo and write it as a mask image."""

from __future__ import annotations

from pathlib import Path

import click

from unmask.cli.face_options import face_hint_options


@click.command()
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Region image to write (.png): white = face mask, black = the rest, photo's size.")
@click.option("--face", "face_index", type=click.IntRange(0), default=None,
              help="Which face when there are several: 0 = largest (the default), 1 = next, ...")
@click.option("--overlay", type=click.Path(path_type=Path), default=None,
              help="Also write the photo with the region tinted red and outlined, to check it.")
@face_hint_options
def region(photo: Path, output: Path, face_index: int | None, overlay: Path | None,
           face_box: tuple[float, ...] | None, eyes: tuple[float, ...] | None) -> None:
    """Find the face mask worn in PHOTO and write its region (white = mask) at the photo's size.

    Writes nothing and exits with an error when the face wears no mask.

    \b
    Examples:
      unmask region masked.jpg -o region.png
      unmask region group.jpg -o region.png --face 1 --overlay check.jpg
      unmask region masked.jpg -o region.png --eyes 410,520,590,515
    """
    import numpy as np

    from unmask.errors import UnmaskError
    from unmask.face import find_face
    from unmask.region.finder import find_mask_region, not_found_message, overlay_region
    from unmask.images import read_image, write_image

    if overlay is not None and overlay.resolve() == output.resolve():
        raise click.BadParameter("the overlay and the region must be different files", param_hint="--overlay")
    image = read_image(photo)
    face = find_face(image, index=face_index, path=photo, face_box=face_box, eyes=eyes)
    found = find_mask_region(image, face)
    if not found.found:
        raise UnmaskError(not_found_message(found), photo)
    write_image(output, found.mask.astype(np.uint8) * 255, protect=[photo])
    if overlay is not None:
        write_image(overlay, overlay_region(image, found.mask), protect=[photo, output])
    share = 100 * found.mask.mean()
    click.echo(f"wrote {output} (mask covers {share:.1f}% of the photo)" + (f" and {overlay}" if overlay else ""))
