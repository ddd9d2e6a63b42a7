"""`unmask eval`: completion methods scored on photos whose truth is known, through the same
pipeline stages as `unmask run`.

Three kinds of case (`cases.py`), one runner (`run.py`: a job per case, every method on it, on an
`unmask.batch` executor), one scoring entry point (`scores.py`), one report (`report.py`: rows,
summary, text table, files) and the contact sheets (`sheets.py`). Modes: synthetic (procedural
masks painted on `<person>/<photo>` photos, scored on aligned crops), real (mfr2-style masked
photos, identity only) and cases (a cases.csv of full masked photos with the true region and the
unmasked original, scored in the photo). docs/evaluation.md tells what each score means.
"""

from unmask.evaluation.report import Report, format_summary, write_report
from unmask.evaluation.run import evaluate

__all__ = ["Report", "evaluate", "format_summary", "write_report"]
