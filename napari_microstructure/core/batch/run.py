"""Run the pipeline over many images: in-process, on a local Dask cluster, or a remote one.

Images already finished (their ``result.json`` exists) are skipped, so re-running the same
command resumes an interrupted run. At most ``2 x workers`` images are in flight at a time,
which bounds memory and lets ``watch`` mode add images as they arrive.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import remove_stale_temps
from ..pipeline import PipelineConfig, PipelineError
from .aggregate import write_table
from .inputs import (
    IMAGES_DIR,
    RESULT_NAME,
    BatchInput,
    CompletionTracker,
    finished,
    finished_sources,
    input_root,
    list_inputs,
    pattern_root,
    readable,
    result_dir,
    result_source,
    source_id,
)
from .process import check_models, process_image, with_absolute_paths, write_row
from .report import REPORT_NAME, write_report

log = logging.getLogger(__name__)
ProgressCallback = Callable[[str, dict[str, Any]], None]
STALE_TEMP_S = 600.0  # a temp file this old is from a killed run, not a write going on now


class BatchError(ValueError):
    """The run cannot start or go on as asked (the message says why and what to do)."""


def _check_output_folder(source: str | Path, out: Path, config: PipelineConfig) -> None:
    """Refuse an output folder that holds the input, or another pipeline's results."""
    root, where = input_root(source).resolve(), out.resolve()
    if where == root or where in root.parents:
        raise BatchError(
            f"--out {out} holds the input images: write the results to a folder of their own "
            "(inside the input folder is fine)"
        )
    saved = out / "pipeline.yaml"
    if not saved.is_file() or not any((out / IMAGES_DIR).glob(f"*/{RESULT_NAME}")):
        return
    try:  # the saved file's relative model paths (an older run's) are from this folder too
        same = with_absolute_paths(PipelineConfig.load(saved)).to_dict() == config.to_dict()
    except PipelineError:
        same = False
    if not same:
        raise BatchError(
            f"{out} holds results of another pipeline ({saved}): resume with "
            f"--config {saved} (and no --pixel-size), or write to another --out folder"
        )


@dataclass
class BatchResult:
    """What a run did; ``table`` holds every finished image (this run's and earlier ones)."""

    processed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    table_path: Path | None = None
    report_path: Path | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


class _Serial:
    """In-process executor with the small interface the run loop needs (for ``workers=0``)."""

    def submit(self, *args: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(process_image(*args))
        except Exception as exc:  # noqa: BLE001 - reported as the image's error row
            fut.set_exception(exc)
        return fut

    def wait_any(self, futures: set, timeout: float) -> set:
        return set(futures)

    def result(self, fut: Any) -> dict[str, Any]:
        return fut.result()

    def close(self) -> None:
        pass


class _Dask:
    """Dask client on a new LocalCluster (processes) or an existing scheduler address."""

    def __init__(self, workers: int, threads: int, scheduler: str | None) -> None:
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="20s")
            except (ValueError, TypeError) as exc:
                msg = f"--scheduler {scheduler}: not a scheduler address ({exc})"
                raise BatchError(msg) from None
        else:
            try:
                with held_interrupt():
                    self.cluster = LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        env={"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)},
                    )
            except KeyboardInterrupt:  # Ctrl+C during the start: stop the started workers
                if self.cluster is not None:
                    self.cluster.close()
                raise
            self.client = Client(self.cluster)
        self.n_workers = max(1, len(self.client.scheduler_info().get("workers", {})) or workers)

    def submit(self, *args: Any) -> Any:
        return self.client.submit(process_image, *args, pure=False)

    def wait_any(self, futures: set, timeout: float) -> set:
        from distributed import wait

        try:
            return set(wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            return set()

    def result(self, fut: Any) -> dict[str, Any]:
        return fut.result()

    def close(self) -> None:
        """Close the client and this run's cluster; every result is written by then, so a
        nanny's "still alive ..., killing" of a worker slow to exit is not shown as a failure."""
        self.client.close()
        if self.cluster is not None:
            nanny = logging.getLogger("distributed.nanny")
            level = nanny.level
            nanny.setLevel(logging.ERROR)
            try:
                self.cluster.close()
            finally:
                nanny.setLevel(level)


@contextmanager
def held_interrupt() -> Iterator[None]:
    """Hold Ctrl+C back while the block runs (in the main thread), then raise it.

    A handler notes a Ctrl+C pressed meanwhile, and KeyboardInterrupt is raised once the block
    is done (also when it failed). SIGINT is blocked in this thread too, where signal masks
    exist: the threads and worker processes started in the block inherit the mask, so the
    workers never see Ctrl+C (the run stops them itself, without their tracebacks).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hit: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: hit.append(signum))
    mask = hasattr(signal, "pthread_sigmask")  # not on Windows
    if mask:
        from multiprocessing import resource_tracker

        # started now: starting it with the first worker would unmask SIGINT in the thread
        # that starts the workers
        with suppress(OSError, ValueError):
            resource_tracker.ensure_running()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if mask:  # a Ctrl+C held pending by the mask reaches the handler here
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        if hit:
            raise KeyboardInterrupt


def _row_of(executor: Any, fut: Any, item: BatchInput, out: Path) -> dict[str, Any]:
    """The row a task returned, or an error row when its worker failed (e.g. killed)."""
    try:
        return executor.result(fut)
    except Exception as exc:  # noqa: BLE001 - a lost worker must not end the run
        row = {
            "image": item.key,
            "path": str(item.path.absolute()),  # as a worker's own rows
            "status": "error",
            "error": f"worker failed: {type(exc).__name__}: {exc}",
        }
        try:
            write_row(result_dir(out, item.key), row)
        except OSError as err:  # not finished: the next run tries the image again
            log.warning("%s: cannot write its result: %s", item.key, err)
        return row


def run_batch(
    source: str | Path,
    out_dir: str | Path,
    config: PipelineConfig,
    workers: int = 2,
    scheduler: str | None = None,
    threads: int = 1,
    watch: bool = False,
    poll_s: float = 2.0,
    settle_s: float = 2.0,
    max_idle_s: float | None = None,
    recursive: bool = False,
    progress: ProgressCallback | None = None,
    report: bool = True,
) -> BatchResult:
    """Process every image of ``source`` (folder or glob) into ``out_dir``.

    Parameters
    ----------
    workers : worker processes of a local Dask cluster. 0 or 1 run in this process without
        Dask: for one local worker a cluster only adds scheduling and inter-process cost
        (measured: about a third more CPU per image).
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``) instead.
    threads : compute threads per worker (torch / OpenMP).
    watch : keep polling ``source`` for new files, processing each once it is complete
        (unchanged for ``settle_s`` seconds); stops after ``max_idle_s`` without work, or on
        Ctrl+C.
    progress : called with ``("start", {"total", "skipped"})``, ``("added", {"n"})`` and
        ``("done", row)``.
    """
    out = Path(out_dir)
    # model files named from this folder, for workers that run in another one
    config = with_absolute_paths(config)
    _check_output_folder(source, out, config)
    check_models(config)  # a wrong model path stops here, before any image is marked done
    out.mkdir(parents=True, exist_ok=True)
    for folder in (out, *(out / IMAGES_DIR).glob("*/")):  # where a run writes, nothing else
        remove_stale_temps(folder, older_than=STALE_TEMP_S, recursive=False)
    config.save(out / "pipeline.yaml")
    cfg = config.to_dict()
    notify = progress or (lambda kind, info: None)
    result = BatchResult()
    t0 = time.perf_counter()
    tracker = CompletionTracker(settle_s)
    seen: set[str] = set()
    # file -> key of every finished result, read once: the same file under another key (a
    # sub-folder or single file of an earlier run's tree) is skipped, not counted twice
    sources = finished_sources(out)

    def scan() -> list[BatchInput]:
        try:
            items = list_inputs(source, recursive=recursive, exclude=out)
        except FileNotFoundError:
            # --watch on a pattern nothing matches yet: like watching an empty folder
            if not (watch and pattern_root(str(source)).is_dir()):
                raise
            items = []
        new = []
        for item in items:
            if item.key in seen:
                continue
            file_id = source_id(item.path)
            done = finished(out, item.key)
            if done is not None:
                made_from = result_source(done)
                if made_from and made_from != file_id:
                    raise BatchError(
                        f"{out} already holds the result of another file named like "
                        f"{readable(item.path.name)} ({made_from}): write this run to another "
                        "--out folder"
                    )
                seen.add(item.key)
                result.skipped += 1
                continue
            other = sources.get(file_id)
            if other is not None and other != item.key:
                log.warning(
                    "%s: skipped, the same file is already in %s as %s",
                    readable(item.key),
                    out,
                    readable(other),
                )
                seen.add(item.key)
                result.skipped += 1
                continue
            if watch and not tracker.complete(item.path):
                if tracker.long_empty(item.path):
                    log.warning(
                        "%s: still empty after %.0f s; processed once it has been written",
                        readable(item.key),
                        tracker.empty_s,
                    )
                continue
            seen.add(item.key)
            sources[file_id] = item.key
            new.append(item)
        return new

    pending: deque[BatchInput] = deque(scan())
    notify("start", {"total": len(pending), "skipped": result.skipped})
    executor: _Serial | _Dask = (
        _Serial() if workers <= 1 and not scheduler else _Dask(max(1, workers), threads, scheduler)
    )
    limit = 2 * getattr(executor, "n_workers", 1)
    futures: dict[Any, BatchInput] = {}
    idle_since = time.monotonic()
    last_table = time.monotonic()
    try:
        while True:
            while pending and len(futures) < limit:
                item = pending.popleft()
                # absolute paths: a worker may run in another folder (--scheduler)
                path, where = str(item.path.absolute()), str(out.absolute())
                futures[executor.submit(path, item.key, where, cfg, threads)] = item
            if futures:
                for fut in executor.wait_any(set(futures), poll_s):
                    row = _row_of(executor, fut, futures.pop(fut), out)
                    result.rows.append(row)
                    result.processed += 1
                    result.failed += row["status"] != "ok"
                    notify("done", row)
                idle_since = time.monotonic()
            if not watch and not pending and not futures:
                break
            if watch:
                if not futures and not pending:
                    if max_idle_s is not None and time.monotonic() - idle_since > max_idle_s:
                        break
                    time.sleep(poll_s / 2)
                new = scan()
                if new:
                    pending.extend(new)
                    notify("added", {"n": len(new)})
                if time.monotonic() - last_table > 30 and result.processed:
                    write_table(out)
                    last_table = time.monotonic()
    finally:
        executor.close()
        result.table_path, table = write_table(out)
        if report:
            result.report_path = write_report(out, table, config.describe())
        elif (out / REPORT_NAME).is_file():
            # an earlier run's report would no longer match results.csv
            (out / REPORT_NAME).unlink()
            log.warning("removed %s: it no longer matches results.csv", out / REPORT_NAME)
        result.seconds = time.perf_counter() - t0
    return result
