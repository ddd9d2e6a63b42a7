"""Shared fixtures: the real photos in ../shared/data (tests skip when they are absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_TEST_DATA", ROOT.parent / "shared" / "data"))


def _need(folder: str) -> Path:
    path = DATA / folder
    if not path.is_dir():
        pytest.skip(f"test photos not found at {path}")
    return path


@pytest.fixture(scope="session")
def people_dir() -> Path:
    """`people/pNN/K.jpg`: unmasked photos, several per person."""
    return _need("people")


@pytest.fixture(scope="session")
def mfr2_dir() -> Path:
    """`mfr2/mNN/K.png` + labels.csv: real masked faces, 160x160 crops."""
    return _need("mfr2")


@pytest.fixture(scope="session")
def wild_dir() -> Path:
    """`wild/mNNN.jpg`: real photos of masked people from the web."""
    return _need("wild")


@pytest.fixture(scope="session")
def expressions_dir() -> Path:
    """`expressions/*.jpg`: one face per expression."""
    return _need("expressions")


@pytest.fixture(scope="session")
def templates_dir() -> Path:
    """`mask-templates/*.png` (RGBA face masks) + anchors.csv (template pixel per landmark index)."""
    return _need("mask-templates")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks run faster on one torch thread than on two on a shared 2-core machine (thread
    start-up costs more than their work); use with `pytestmark = pytest.mark.usefixtures(...)`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
