"""Measurements behind the engine's speed choices: each trick timed against the plain fp32 network in
the same process, and the pipeline's overhead as the app and the batch engine actually pay it.

`facebridge bench --tuning` prints these; docs/BENCHMARKS.md records which tricks the engine adopted.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from .photo import time_it
from ..restorer import Restorer


def _variants(device: torch.device) -> dict[str, dict]:
    """name -> settings. Only what this device can run; torch.compile is tried and reported if it fails."""
    v = {"fp32 (baseline)": {}, "channels_last": {"channels_last": True}}
    if device.type == "cpu":
        v["bf16 autocast"] = {"dtype": torch.bfloat16}
        v["1 thread"] = {"threads": 1}
    else:
        v["fp16 autocast"] = {"dtype": torch.float16}
        v["bf16 autocast"] = {"dtype": torch.bfloat16}
        v["fp16 + channels_last"] = {"dtype": torch.float16, "channels_last": True}
        v["fp16 + CUDA graphs (compile reduce-overhead)"] = {"dtype": torch.float16, "compile": "reduce-overhead"}
    v["torch.compile"] = {"compile": "default", "dtype": None if device.type == "cpu" else torch.float16}
    return v


def _runner(restorer: Restorer, batch: int, settings: dict) -> tuple[Callable[[], None], float]:
    """A closure running one network evaluation at `batch`, and the seconds its set-up (compile) took."""
    net = copy.deepcopy(restorer.model).eval()
    x = torch.randn(batch, restorer.spec.network.in_channels, restorer.size, restorer.size, device=restorer.device)
    level = restorer.schedule.level(torch.full((batch,), 500, device=restorer.device, dtype=torch.long))
    fmt = torch.channels_last if settings.get("channels_last") else torch.contiguous_format
    net = net.to(memory_format=fmt)  # whatever the engine adopted, each variant starts from its own format
    x = x.contiguous(memory_format=fmt)
    dtype = settings.get("dtype")
    t = time.perf_counter()
    if settings.get("compile"):
        net = torch.compile(net, mode=settings["compile"])

    def run():
        with torch.inference_mode():
            if dtype is None:
                net(x, level)
            else:
                with torch.autocast(restorer.device.type, dtype=dtype):
                    net(x, level)

    run()  # compiles here when compiling; otherwise a warm-up
    if restorer.device.type == "cuda":
        torch.cuda.synchronize()
    return run, time.perf_counter() - t


def bench_tuning(restorer: Restorer, batches: Sequence[int], repeats: int) -> list[dict]:
    """Per-face network time for each variant and batch, with the ratio to the fp32 baseline."""
    rows = []
    base: dict[int, float] = {}
    threads = torch.get_num_threads()
    for name, settings in _variants(restorer.device).items():
        for b in batches:
            row = {"variant": name, "batch": b}
            try:
                if settings.get("threads"):
                    torch.set_num_threads(settings["threads"])
                run, setup = _runner(restorer, b, settings)
                timing = time_it(run, restorer.device, warmup=1, repeats=repeats)
            except Exception as exc:  # noqa: BLE001 - e.g. torch.compile without a C++ compiler: report it
                row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                rows.append(row)
                continue
            finally:
                torch.set_num_threads(threads)
                if settings.get("compile"):
                    torch._dynamo.reset()
            per_face = timing.median / b
            base.setdefault(b, per_face)
            row.update(timing=timing, per_face=per_face, speedup=base[b] / per_face, setup=setup)
            rows.append(row)
    return rows


def bench_batch_pipeline(session, photo: Path, copies: int, steps: int) -> dict:
    """The batch engine on `copies` copies of one photo: wall time per photo (compare it with the network
    time of the same photo measured alone, `bench_rerestore`'s "network").

    Decoding runs a photo ahead on its own thread and encoding behind; detection joins the decode thread
    only when the network is not on the CPU (see BatchRunner._load).
    """
    from ..batch import BatchRunner, OutputOptions, collect_inputs
    from ..pipeline import RestoreOptions

    with tempfile.TemporaryDirectory(prefix="facebridge-bench-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(copies):
            shutil.copy(photo, src / f"{i:03d}{photo.suffix}")
        items, _ = collect_inputs([src])
        runner = BatchRunner(session, RestoreOptions(steps=steps), OutputOptions(output_dir=Path(tmp) / "out"),
                             face_batch=1, max_group=1)  # one photo at a time, as a one-face folder runs
        runner.run(items[:2])  # warm-up
        summary = runner.run(items)
    return {"photo": photo.name, "copies": copies, "faces": summary.faces, "per_photo": summary.seconds / copies,
            "ok": summary.ok}


def bench_rerestore(session, photo: Path, steps: int, repeats: int = 5) -> dict:
    """What the desktop app pays when the user restores again: faces were detected when the photo opened."""
    from ..io.images import read_image
    from ..pipeline import RestoreOptions

    options = RestoreOptions(steps=steps)
    prep = session.prepare(read_image(photo), options)
    net: list[float] = []
    total: list[float] = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        restored = session.restore_crops(prep.crops, prep.seeds, options)
        t1 = time.perf_counter()
        session.finish(prep, restored, options)
        net.append(t1 - t)
        total.append(time.perf_counter() - t)
    net_m, total_m = sorted(net[1:])[repeats // 2], sorted(total[1:])[repeats // 2]
    return {"photo": photo.name, "faces": len(prep.crops), "network": net_m, "total": total_m,
            "overhead": (total_m - net_m) / net_m}


def describe_row(row: dict) -> str:
    """A Markdown table row: variant | batch | per face | batch time | speed-up | set-up time."""
    if "error" in row:
        return f"| {row['variant']} | {row['batch']} | unavailable: {row['error']} | | | |"
    return (f"| {row['variant']} | {row['batch']} | {row['per_face'] * 1000:.1f} ms | {row['timing']} | "
            f"{row['speedup']:.2f}x | {row['setup']:.1f} s |")
