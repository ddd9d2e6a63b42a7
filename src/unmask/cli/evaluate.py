"""`unmask eval`: score completion methods on photo sets with synthetic (or real) face masks, or on
the masked photos of a cases.csv (`--cases`), all through the pipeline's stages."""

from __future__ import annotations

from pathlib import Path

import click

from unmask.methods import METHODS
from unmask.evaluation.sheets import SHEET_ROWS, SORTS


@click.command("eval")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
@click.option("--cases", "cases", type=click.Path(path_type=Path),
              help="A cases.csv (make_cases.py format): run the whole pipeline on each full masked photo and "
                   "score remnant, chroma90, identity and the region-box scores against its truth (no FOLDER).")
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
              help="Fill the true region (truth; synthetic default) or the one found (detected; the default "
                   "with --cases and in real mode).")
@click.option("--net", type=click.Choice(["alex", "vgg"]), default="alex", show_default=True,
              help="Backbone of the perceptual distance.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A method option given to every --method, repeatable (e.g. --option mirror=never).")
@click.option("--all-references", is_flag=True,
              help="With --cases: give the pipeline all of a case's references to rank (default: the first).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True,
              help="Parallel processes on this machine (1 = in this process).")
@click.option("--sort", "sorts", multiple=True, type=click.Choice(list(SORTS)),
              help="With --cases: full-size sheets (sheets/<method>-<metric>-<n>.png, masked | result | truth, worst "
                   "first) sorted by this metric; repeat for several (default: all six).")
@click.option("--sheet-rows", type=click.IntRange(min=0), default=SHEET_ROWS, show_default=True,
              help="With --cases: the worst cases per method and metric shown in the full-size sheets.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def evaluate(folder: Path | None, cases: Path | None, methods: tuple[str, ...], output: Path, mode: str, size: int, seed: int,
             limit: int | None, region: str | None, net: str, options: tuple[str, ...], all_references: bool,
             workers: int, sorts: tuple[str, ...], sheet_rows: int, quiet: bool) -> None:
    """Score completion methods on FOLDER (or the --cases file) and print the summary (median /
    mean per method).

    \b
    Examples:
      unmask eval ../shared/data/people --method opencv-telea --method warp -o eval-out
      unmask eval --cases cases/cases.csv --method warp -o eval-cases
      unmask eval --cases cases/cases.csv --method warp --sort light90 --sort collateral -o eval-cases
    """
    from tqdm import tqdm

    from unmask.batch import make_executor
    from unmask.cli.run import parse_options
    from unmask.evaluation import evaluate as run_evaluation
    from unmask.evaluation import format_summary, write_report

    method_options = parse_options(options)

    def progress(items, total=None):
        return tqdm(items, total=total, desc="cases", unit="case", disable=quiet)

    if (folder is None) == (cases is None):
        raise click.UsageError("give either FOLDER or --cases")
    if all_references and cases is None:
        raise click.UsageError("--all-references works with --cases")
    with make_executor(workers) as executor:
        report = run_evaluation(cases or folder, list(methods), mode="cases" if cases else mode, size=size, seed=seed,
                                limit=limit, region=region, net=net, options={name: method_options for name in methods},
                                progress=progress, executor=executor, all_references=all_references,
                                sorts=sorts or SORTS, sheet_rows=sheet_rows)
    text = format_summary(report.summary)
    written = write_report(report, output)
    click.echo(text)
    for path in written:
        click.echo(str(path))


@click.command("cases")
@click.argument("people", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder for cases.csv and each case's target.png and region.png.")
@click.option("--seed", type=int, default=0, show_default=True, help="Chooses references and mask kinds.")
@click.option("--limit", type=click.IntRange(min=1), help="Write only the first N cases.")
def cases(people: Path, output: Path, seed: int, limit: int | None) -> None:
    """Write a cases.csv of procedural face masks painted on the photos of PEOPLE (<person>/<photo>),
    the cases of `unmask eval PEOPLE` as files, for `unmask eval --cases`.

    \b
    Example:
      unmask cases ../shared/data/people -o procedural && unmask eval --cases procedural/cases.csv -m warp -o out
    """
    from unmask.evaluation.cases import write_synthetic_cases

    path, skipped = write_synthetic_cases(people, output, seed, limit)
    for line in skipped:
        click.echo(f"skipped: {line}", err=True)
    click.echo(str(path))
