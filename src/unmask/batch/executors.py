"""One way to run independent jobs, three places to run them: in this process, in a pool of local
processes, or on a Dask distributed cluster.

`Executor.map(fn, items)` yields `(index, fn(item))` as results arrive. It takes items from the
iterable only as workers free up (at most `window` in flight), so a client that builds items
lazily (reading a job's files when it is taken) holds only the jobs being worked on, however long
the batch. `fn` must be a module-level function and items and results picklable (process pool,
Dask); on Dask, workers need only `unmask` installed: items carry everything a job needs.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Iterator, TypeVar

from unmask.errors import UnmaskError

Item = TypeVar("Item")
Result = TypeVar("Result")


class Executor(ABC):
    """Runs `fn` over items; use as a context manager (`close` releases the workers)."""

    workers: int = 1

    @property
    def window(self) -> int:
        """How many items may be in flight at once (two per worker keeps every worker busy)."""
        return 2 * self.workers

    @abstractmethod
    def map(self, fn: Callable[[Item], Result], items: Iterable[Item]) -> Iterator[tuple[int, Result]]:
        """`(index in items, fn(item))` for every item, in the order they finish."""

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcess(Executor):
    """Every item in turn, in this process."""

    def map(self, fn: Callable[[Item], Result], items: Iterable[Item]) -> Iterator[tuple[int, Result]]:
        for index, item in enumerate(items):
            yield index, fn(item)


class ProcessPool(Executor):
    """A pool of `workers` local processes (started fresh, not forked, so no thread or lock of
    the client leaks into them), each with one torch and one OpenCV thread; each keeps its models
    loaded from one job to the next."""

    def __init__(self, workers: int):
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                         initializer=prepare_worker)

    def map(self, fn: Callable[[Item], Result], items: Iterable[Item]) -> Iterator[tuple[int, Result]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        pending: dict[Any, int] = {}
        source = enumerate(items)

        def submit_next() -> None:
            for index, item in source:
                pending[self._pool.submit(fn, item)] = index
                return

        for _ in range(self.window):
            submit_next()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                submit_next()
                yield index, future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster(Executor):
    """The workers of a Dask distributed scheduler at `address` (e.g. tcp://host:8786); workers
    may join or leave while a batch runs."""

    def __init__(self, address: str, timeout: float = 30.0):
        try:
            from distributed import Client
        except ImportError:
            raise UnmaskError("--cluster needs Dask distributed: pip install 'unmask[cluster]'") from None
        try:
            self._client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UnmaskError(f"cannot reach the Dask scheduler at {address} ({exc}); start one with "
                              "`dask scheduler` and workers with `dask worker ADDRESS`") from None

    @property
    def workers(self) -> int:  # type: ignore[override]
        """The worker threads the scheduler has now (at least 1)."""
        return max(1, sum(self._client.nthreads().values()))

    def map(self, fn: Callable[[Item], Result], items: Iterable[Item]) -> Iterator[tuple[int, Result]]:
        from distributed import as_completed

        pending: dict[Any, int] = {}
        running = as_completed(loop=self._client.loop)
        source = enumerate(items)

        def submit_more() -> None:  # up to two jobs per worker thread the scheduler has now
            window = self.window
            while len(pending) < window:
                taken = next(source, None)
                if taken is None:
                    return
                future = self._client.submit(_in_worker, fn, taken[1], pure=False)
                pending[future] = taken[0]
                running.add(future)

        submit_more()
        for future in running:
            index = pending.pop(future)
            result = future.result()
            future.release()
            submit_more()
            yield index, result

    def close(self) -> None:
        self._client.close()


def prepare_worker() -> None:
    """Give this worker process one torch and one OpenCV thread: parallelism comes from the
    processes, and threads on top of them would only compete for the same cores."""
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def _in_worker(fn: Callable[[Item], Result], item: Item) -> Result:
    """`fn(item)` on a Dask worker process, prepared (a cheap call, repeated for every item)."""
    prepare_worker()
    return fn(item)


def make_executor(workers: int | None = None, cluster: str | None = None) -> Executor:
    """The executor for `--workers N` (default: the cores; 1 = this process) or `--cluster ADDRESS`."""
    if cluster is not None:
        return DaskCluster(cluster)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise UnmaskError(f"--workers must be at least 1, got {workers}")
    return InProcess() if workers == 1 else ProcessPool(workers)
