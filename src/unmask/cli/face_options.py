"""`--face-box` and `--eyes`, shared by `run`, `align` and `region`: say where the face is when
the detectors miss it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def face_hint_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--face-box X0,Y0,X1,Y1` (-> `face_box`) and `--eyes X,Y,X,Y` (-> `eyes`) to a command;
    each arrives as a tuple of floats or None (a malformed value is a one-line error)."""
    command = click.option(
        "--eyes", callback=_numbers("X,Y,X,Y", "--eyes"), metavar="X,Y,X,Y",
        help="The two eye centres in photo pixels (left eye first), when no face is found.")(command)
    return click.option(
        "--face-box", callback=_numbers("X0,Y0,X1,Y1", "--face-box"), metavar="X0,Y0,X1,Y1",
        help="The face's box in photo pixels (brows to chin, ear to ear), when no face is found.")(command)


def _numbers(names: str, option: str) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
        from unmask.face.hints import parse_numbers

        return None if value is None else parse_numbers(value, names, option)

    return parse
