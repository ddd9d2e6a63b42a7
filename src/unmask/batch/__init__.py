"""Batches: many targets (an album folder or a manifest CSV) completed in this process, in a pool
of local processes or on a Dask cluster, with a report, and resumable.

- `inputs`: album and manifest -> targets (`Target`, `Photo`).
- `jobs`: a job's bytes, settings and content hash (`Job`, `Settings`).
- `work`: what a worker does with a job (`run_job` -> `Outcome`).
- `executors`: `Executor` with `InProcess`, `ProcessPool`, `DaskCluster` (`make_executor`).
- `report`: record files and report.csv / report.json / index.html.
- `runner`: `run_batch`, the whole batch.
"""

from unmask.batch.executors import DaskCluster, Executor, InProcess, ProcessPool, make_executor
from unmask.batch.jobs import Settings
from unmask.batch.runner import Summary, run_batch

__all__ = ["DaskCluster", "Executor", "InProcess", "ProcessPool", "Settings", "Summary", "make_executor", "run_batch"]
