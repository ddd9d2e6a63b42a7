"""Completion methods behind one interface (`Method`), created by name with `make_method`."""

from __future__ import annotations

import importlib
from typing import Any

from unmask.errors import UnmaskError
from unmask.methods.base import AlignedCase, Completion, Method

# method name -> "module:class"; imported on first use so that light methods stay light
METHODS: dict[str, str] = {
    "warp": "unmask.methods.warp:WarpMethod",
    "opencv-telea": "unmask.methods.opencv:TeleaMethod",
    "opencv-ns": "unmask.methods.opencv:NavierStokesMethod",
    "stylegan": "unmask.methods.stylegan:StyleGANMethod",
}


def make_method(name: str, **options: Any) -> Method:
    """Create the method called `name` (one of `METHODS`) with its options."""
    if name not in METHODS:
        raise UnmaskError(f"unknown method '{name}'; choose one of: {', '.join(METHODS)}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)


__all__ = ["AlignedCase", "Completion", "Method", "METHODS", "make_method"]
