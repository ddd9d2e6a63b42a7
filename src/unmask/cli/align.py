"""`unmask align`: detect a face and write its FFHQ-aligned crop, optionally with a JSON record."""

from __future__ import annotations

import json
from pathlib import Path

import click

from unmask.cli.face_options import face_hint_options


@click.command()
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Aligned crop to write (.png, .jpg, .webp).")
@click.option("--size", type=click.IntRange(16, 4096), default=1024, show_default=True,
              help="Side of the square crop in pixels (1024 is FFHQ's).")
@click.option("--face", "face_index", type=click.IntRange(0), default=None,
              help="Which face when there are several: 0 = largest (the default), 1 = next, ...")
@click.option("--masked", is_flag=True,
              help="The face wears a mask: place the hidden mouth and jaw from the eyes and nose "
                   "(a mean face shape) instead of trusting the detected lower landmarks.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Also write landmarks (photo and crop pixels), transform, quad and detection "
                   "score as JSON.")
@face_hint_options
def align(photo: Path, output: Path, size: int, face_index: int | None, masked: bool,
          json_path: Path | None, face_box: tuple[float, ...] | None, eyes: tuple[float, ...] | None) -> None:
    """Detect the face in PHOTO and write its FFHQ-aligned square crop.

    The crop is made exactly as the FFHQ training photos of StyleGAN2 were (eyes and mouth set
    the rotation, centre and scale). Masked faces are found too.

    \b
    Examples:
      unmask align photo.jpg -o face.png
      unmask align group.jpg -o second.png --face 1 --size 512 --json second.json
      unmask align masked.jpg -o face.png --masked --face-box 300,350,700,800
    """
    from unmask.face import align_face, choose_face, detect_faces, find_face
    from unmask.face.hidden import estimate_hidden_landmarks
    from unmask.images import read_image, write_image, write_text

    if json_path is not None and json_path.resolve() == output.resolve():
        raise click.BadParameter("the JSON file and the crop must be different files", param_hint="--json")
    image = read_image(photo)
    if face_box is None and eyes is None:
        faces = detect_faces(image)
        face = choose_face(faces, index=face_index, path=photo)
    else:
        face = find_face(image, index=face_index, path=photo, face_box=face_box, eyes=eyes)
        faces = [face]
    landmarks = estimate_hidden_landmarks(face.landmarks) if masked else face.landmarks
    crop, alignment = align_face(image, landmarks, size=size)
    record = None
    if json_path is not None:
        record = {
            "photo": str(photo),
            "faces_found": len(faces),
            "face_index": face_index or 0,
            "score": face.score,
            "detector": face.detector,
            "box": list(face.box),
            "masked": masked,
            "landmarks_photo": landmarks.tolist(),
            "landmarks_crop": alignment.to_crop(landmarks).tolist(),
            "detected_landmarks_photo": face.landmarks.tolist(),
            "size": alignment.size,
            "quad": alignment.quad.tolist(),
            "matrix": alignment.matrix.tolist(),
        }
    write_image(output, crop, protect=[photo])
    if record is not None:
        write_text(json_path, json.dumps(record, indent=1) + "\n", protect=[photo, output])
    click.echo(f"wrote {output}" + (f" and {json_path}" if json_path else ""))
