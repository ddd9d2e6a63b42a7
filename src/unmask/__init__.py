"""unmask: complete the part of a face hidden by a face mask, using an unmasked photo of the same
person.

    import unmask
    result = unmask.complete("masked.jpg", reference="unmasked.jpg", method="warp")
    result.save("result.jpg")
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    # `complete` pulls in dlib, OpenCV and maybe torch: import it on first use only.
    if name == "complete":
        from unmask.pipeline import complete

        return complete
    raise AttributeError(f"module 'unmask' has no attribute {name!r}")


__all__ = ["complete", "__version__"]
