"""`facebridge restore --ray ADDRESS|auto|local`: the same batch engine, spread over a Ray cluster.

Ray Data streams the file list to actor replicas (one per GPU, or per CPU slot without GPUs); each
replica loads the model once and runs the ordinary BatchRunner on its share, writing the same folder
layout. The driver assembles the same JSON report as a single-process run. Ray is an optional extra.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .batch import BatchItem, BatchRunner, BatchSummary, FileReport, OutputOptions, write_report
from .errors import ClusterUnavailable, EngineError
from .pipeline import RestoreOptions
from .progress import Progress, ProgressCallback


class _Replica:
    """One model replica inside a Ray actor."""

    def __init__(self, session_kwargs: dict, restore: RestoreOptions, output: OutputOptions):
        from .session import open_session

        self.runner = BatchRunner(open_session(**session_kwargs), restore, output)

    def __call__(self, batch: dict) -> dict:
        items = [BatchItem(Path(i), Path(r)) for i, r in zip(batch["input"], batch["root"])]
        summary = self.runner.run(items)
        return {"index": np.asarray(batch["index"]),
                "report": np.asarray([json.dumps(f.__dict__) for f in summary.files], dtype=object)}


def restore_with_ray(address: str, items: list[BatchItem], restore: RestoreOptions, output: OutputOptions, *,
                     session_kwargs: dict, report_path: Optional[Path] = None, pre_failed=(),
                     replicas: int = 0, callback: Optional[ProgressCallback] = None) -> BatchSummary:
    try:
        import ray
    except ImportError as exc:
        raise EngineError("Ray is not installed: pip install 'ray[data]' (the optional 'ray' extra)") from exc
    start = time.perf_counter()
    if not ray.is_initialized():
        try:
            ray.init(address=None if address == "local" else address, ignore_reinit_error=True,
                     include_dashboard=False, log_to_driver=False)
        except ConnectionError as exc:
            where = "no running Ray cluster was found" if address == "auto" else f"no Ray cluster answered at {address}"
            raise ClusterUnavailable(f"{where}; use --ray local to start one on this machine") from exc
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    replicas = replicas or gpus or max(1, int(resources.get("CPU", 1)) // 2)
    rows = [{"index": k, "input": str(i.input), "root": str(i.root)} for k, i in enumerate(items)]
    reports = [FileReport(str(i.input)) for i in items]
    if rows:
        ds = ray.data.from_items(rows)
        mapped = ds.map_batches(_Replica, fn_constructor_kwargs={"session_kwargs": session_kwargs,
                                                                 "restore": restore, "output": output},
                                batch_size=4, concurrency=replicas, num_gpus=1 if gpus else 0,
                                num_cpus=0 if gpus else 1)
        done = 0
        for batch in mapped.iter_batches(batch_size=None):
            for k, rep in zip(batch["index"], batch["report"]):
                reports[int(k)] = FileReport(**json.loads(rep))
                done += 1
                if callback is not None:
                    callback(Progress("batch", done, len(items), f"{Path(reports[int(k)].input).name}: "
                                                                  f"{reports[int(k)].status}"))
    summary = BatchSummary(list(pre_failed) + reports, time.perf_counter() - start,
                           sum(r.faces for r in reports))
    if report_path:
        write_report(summary, report_path)
    return summary
