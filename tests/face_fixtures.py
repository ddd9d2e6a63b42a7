"""Helpers shared by the face tests (not fixtures of conftest.py: only the face tests use them)."""

from __future__ import annotations

import numpy as np


def recipe_quad(lm: np.ndarray) -> np.ndarray:
    """The FFHQ recipe's quad (NVlabs/ffhq-dataset recreate_aligned_images) written out again from
    its formula, independently of unmask.face.align, which must agree with it to 0.5 px."""
    eye_l, eye_r = lm[36:42].mean(0), lm[42:48].mean(0)
    eye_avg = (eye_l + eye_r) / 2
    e2e = eye_r - eye_l
    e2m = (lm[48] + lm[54]) / 2 - eye_avg
    x = e2e - np.array([-e2m[1], e2m[0]])
    x = x / np.sqrt(x @ x) * max(2.0 * np.sqrt(e2e @ e2e), 1.8 * np.sqrt(e2m @ e2m))
    y = np.array([-x[1], x[0]])
    c = eye_avg + 0.1 * e2m
    return np.array([c - x - y, c - x + y, c + x + y, c + x - y])


def group_photo(people_dir, faces: list[tuple[str, str, bool]], tile: int) -> np.ndarray:
    """A group photo, uint8 (tile, len(faces) * tile, 3): each (person, photo, masked) of `faces`
    of `people_dir` fitted into a tile x tile square on grey, left to right, masked ones with a
    synthetic surgical mask (the face's number as the mask's seed)."""
    from PIL import Image

    from unmask.face import find_face
    from unmask.images import read_image
    from unmask.region import render_mask

    tiles = []
    for number, (person, name, masked) in enumerate(faces):
        image = Image.fromarray(read_image(people_dir / person / name))
        image.thumbnail((tile, tile))
        square = np.full((tile, tile, 3), 128, np.uint8)
        square[: image.height, : image.width] = np.asarray(image)
        if masked:
            square, _ = render_mask(square, find_face(square).landmarks, "surgical", number)
        tiles.append(square)
    return np.concatenate(tiles, axis=1)
