"""`unmask run`: complete a masked face from a reference photo of the same person."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import click

from unmask.cli.face_options import face_hint_options
from unmask.errors import UnmaskError
from unmask.methods import METHODS
from unmask.references import TRIES


@click.command("run")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--reference", "-r", "references", multiple=True, type=click.Path(path_type=Path),
              help="An unmasked photo of the same person, or a folder of them; repeatable. Several are "
                   "ranked for the target, the face is completed with the best few and the result most "
                   "like the person is kept (the JSON record says why).")
@click.option("--people", type=click.Path(path_type=Path, file_okay=False),
              help="Instead of --reference, for a group photo: a folder DIR/<name>/<photo> of each person's "
                   "unmasked photos. Every masked face is completed from the person it matches; faces without a "
                   "mask or matching nobody are left as they are (the JSON record lists every face).")
@click.option("--tries", type=click.IntRange(min=1), default=None,
              help=f"How many of the best-ranked references to complete the face with, keeping the result "
                   f"most like the person  [default: {TRIES} for warp, 1 (the best ranked) for the others].")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Where to write the completed photo (.jpg, .png, .heic, ...), at the target's size, "
                   "with the target's EXIF, XMP and colour profile.")
@click.option("--expression", type=click.Path(path_type=Path), help="A face whose expression to use (stylegan).")
@click.option("--method", "-m", type=click.Choice(list(METHODS)), default="warp", show_default=True,
              help="Completion method; 'warp' needs no model download.")
@click.option("--mask", type=click.Path(path_type=Path),
              help="The region to fill as an image of the target's size (white = fill); default: found.")
@click.option("--face", type=int, help="Which face of the target to complete (0 = largest).")
@click.option("--reference-face", type=int, help="Which face of the reference to use (0 = largest).")
@face_hint_options
@click.option("--strict", is_flag=True, help="Refuse a reference that looks like another person.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (stylegan).")
@click.option("--weights", help="Generator weights for --method stylegan (a file or a model-zoo name).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Any other method option, repeatable (e.g. --option mirror=never).")
@click.option("--panel", type=click.Path(path_type=Path), help="Also write a before/after panel of the steps.")
@click.option("--json", "record", type=click.Path(path_type=Path), help="Also write a JSON record of the run.")
@click.option("--strip-location", is_flag=True,
              help="Leave the GPS location out of the result's EXIF (date, camera and the rest are kept).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the paths written, warnings and errors.")
def run(target: Path, references: tuple[Path, ...], people: Path | None, tries: int | None, output: Path,
        expression: Path | None, method: str, mask: Path | None, face: int | None, reference_face: int | None,
        face_box: tuple[float, ...] | None, eyes: tuple[float, ...] | None, strict: bool, seed: int, weights: str | None,
        options: tuple[str, ...], panel: Path | None, record: Path | None, strip_location: bool,
        quiet: bool) -> None:
    """Complete the masked face in TARGET using --reference, unmasked photos of the same person,
    or every masked face of a group photo using --people.

    \b
    Example:
      unmask run masked.jpg --reference unmasked.jpg -o result.jpg --panel panel.png --json run.json
      unmask run masked.jpg -r album/ -r extra.jpg -o result.jpg --json run.json
      unmask run group.jpg --people people/ -o result.jpg --json run.json
    """
    from unmask.pipeline import check_outputs, complete
    from unmask.references import sources

    if bool(references) == (people is not None):
        raise click.UsageError("give either --reference (one person) or --people (a group photo)")
    if people is not None and (mask is not None or face is not None or face_box or eyes):
        raise click.UsageError("with --people every face is looked at: --mask, --face, --face-box and --eyes "
                               "work with --reference")
    reference = None if not references else references[0] if len(references) == 1 else list(references)
    given = sources(reference)[0] if reference is not None else [p for p in sorted(people.rglob("*")) if p.is_file()]
    check_outputs([output, panel, record], [p for p in (target, *given, expression, mask) if p is not None])
    method_options = parse_options(options)
    if weights is not None:
        method_options["weights"] = weights
    start = time.perf_counter()

    def progress(message: str) -> None:
        if not quiet and not message.startswith("warning: "):  # warnings come at the end, once
            click.echo(f"[{time.perf_counter() - start:5.1f} s] {message}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings reach the user through `progress`, once
        result = complete(target, reference, people=people, expression=expression, method=method, mask=mask, face=face,
                          reference_face=reference_face, face_box=face_box, eyes=eyes, strict=strict, tries=tries,
                          seed=seed, progress=progress, bars=not quiet, **method_options)
    for path in result.save(output, panel=panel, json=record, strip_location=strip_location):
        click.echo(str(path))
    for warning in result.record["warnings"]:  # last, where they are seen (also in the JSON record)
        click.echo(f"warning: {warning}", err=True)


def parse_options(options: tuple[str, ...]) -> dict[str, Any]:
    """`KEY=VALUE` strings -> dict; values read as int, float, true/false when they look like one."""
    parsed: dict[str, Any] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UnmaskError(f"--option expects KEY=VALUE, got '{item}'")
        parsed[key.strip().replace("-", "_")] = _value(value.strip())
    return parsed


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
