"""Headless runs of the pipeline over folders of micrographs (local or Dask cluster)."""

from .aggregate import collect_rows, write_table
from .inputs import BatchInput, CompletionTracker, list_inputs
from .process import analyse, process_image
from .quality import image_quality
from .report import write_report
from .run import BatchError, BatchResult, run_batch

__all__ = [
    "BatchInput",
    "BatchError",
    "BatchResult",
    "CompletionTracker",
    "analyse",
    "collect_rows",
    "image_quality",
    "list_inputs",
    "process_image",
    "run_batch",
    "write_report",
    "write_table",
]
