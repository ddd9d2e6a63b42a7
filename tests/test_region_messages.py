"""What the user is told when no region is found: no mask seen, or a mask seen whose outline was not
found. On scikit-image's astronaut (shipped with scikit-image), bare and with a synthetic mask."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from unmask.cli import main
from unmask.errors import UnmaskError
from unmask.images import write_image
from unmask.pipeline import prepare
from unmask.region import finder, find_mask_region, render_mask


@pytest.fixture(scope="module")
def astronaut():
    """(photo, its face, the photo with a synthetic surgical mask)."""
    from skimage import data

    from unmask.face import find_face

    photo = np.ascontiguousarray(data.astronaut())
    face = find_face(photo)
    masked, _ = render_mask(photo, face.landmarks, "surgical", 0)
    return photo, face, masked


def test_an_unmasked_face_is_reported_as_unmasked(astronaut, tmp_path, capsys):
    photo, face, _ = astronaut
    found = find_mask_region(photo, face)
    assert not found.found and found.score < finder.MIN_SCORE
    with pytest.raises(UnmaskError, match=r"^no face mask found on this face \(mask evidence 0\.\d\d, below 0\.50\): "
                                          r"if it is not masked there is nothing to complete; if it is, paint"):
        prepare(photo, photo, face=face, mask=found)  # the pipeline's first stage, with this finder result
    path = write_image(tmp_path / "bare.png", photo)
    with pytest.raises(SystemExit) as exit_info:
        main(["region", str(path), "-o", str(tmp_path / "region.png")])
    assert exit_info.value.code == 1
    assert "no face mask found on this face (mask evidence" in capsys.readouterr().err
    assert not (tmp_path / "region.png").exists()


def test_a_mask_seen_without_an_outline_says_so(astronaut, tmp_path, capsys, monkeypatch):
    """The finder's real result on the masked photo, with its region emptied: what it returns when
    the evidence is strong but no outline comes out (as on tight crops where the mask touches the
    frame)."""
    _, face, masked = astronaut
    real = find_mask_region(masked, face)
    assert real.found and real.score >= finder.MIN_SCORE
    failed = dataclasses.replace(real, mask=np.zeros_like(real.mask), found=False)
    message = finder.not_found_message(failed)
    assert message.startswith(f"a face mask is seen on this face (mask evidence {real.score:.2f}) "
                              "but its outline could not be found")
    assert "no face mask found" not in message and "--mask" in message and "web page" in message
    with pytest.raises(UnmaskError, match="its outline could not be found"):
        prepare(masked, masked, face=face, mask=failed)
    monkeypatch.setattr(finder, "find_mask_region", lambda image, face: failed)
    path = write_image(tmp_path / "masked.png", masked)
    with pytest.raises(SystemExit) as exit_info:
        main(["region", str(path), "-o", str(tmp_path / "region.png")])
    assert exit_info.value.code == 1
    assert "its outline could not be found" in capsys.readouterr().err
