"""`unmask eval`: score completion methods on photo sets with synthetic (or real) face masks."""

from __future__ import annotations

from pathlib import Path

import click

from unmask.methods import METHODS


@click.command("eval")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--method", "-m", "methods", multiple=True, required=True, type=click.Choice(list(METHODS)),
              help="A method to score; repeat to compare several.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder for cases.csv, cases.json, summary.json and sheet.png.")
@click.option("--mode", type=click.Choice(["synthetic", "real"]), default="synthetic", show_default=True,
              help="synthetic: FOLDER/<person>/<photo>, masks painted on, full scores; "
                   "real: mfr2-style FOLDER with labels.csv, identity only.")
@click.option("--size", type=int, default=256, show_default=True, help="Aligned crop side in pixels.")
@click.option("--seed", type=int, default=0, show_default=True, help="Chooses references and mask kinds.")
@click.option("--limit", type=click.IntRange(min=1), help="Score only the first N cases.")
@click.option("--region", type=click.Choice(["truth", "detected"]),
              help="Fill the painted region (truth, synthetic default) or the one found (detected).")
@click.option("--net", type=click.Choice(["alex", "vgg"]), default="alex", show_default=True,
              help="Backbone of the perceptual distance.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A method option given to every --method, repeatable (e.g. --option mirror=never).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def evaluate(folder: Path, methods: tuple[str, ...], output: Path, mode: str, size: int, seed: int,
             limit: int | None, region: str | None, net: str, options: tuple[str, ...], quiet: bool) -> None:
    """Score completion methods on FOLDER and print the summary (median / mean per method).

    \b
    Example:
      unmask eval ../shared/data/people --method opencv-telea --method warp -o eval-out
    """
    from tqdm import tqdm

    from unmask.cli.run import parse_options
    from unmask.evaluate import evaluate as run_evaluation
    from unmask.evaluate import format_summary, write_report

    method_options = parse_options(options)

    def progress(cases):
        return tqdm(cases, desc="cases", unit="case", disable=quiet)

    report = run_evaluation(folder, list(methods), mode=mode, size=size, seed=seed, limit=limit, region=region,
                            net=net, options={name: method_options for name in methods}, progress=progress)
    written = write_report(report, output)
    click.echo(format_summary(report.summary))
    for path in written:
        click.echo(str(path))
