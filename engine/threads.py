"""How many CPU threads the network may use: the cores other work is not using right now.

torch's default claims every core. When other programs keep cores busy, its thread pool fights them and
a step gets several times slower (measured on 2 cores with two busy processes: 881 ms per face at 4 steps
with 2 threads, 221 ms with 1). So before each job the engine looks at how busy the CPU was over a short
moment (Linux /proc/stat; the load average elsewhere) and uses only the idle cores, at least one.
FACEBRIDGE_THREADS or an explicit --threads overrides it.
"""

from __future__ import annotations

import os
import time
from typing import Optional

import torch


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_times() -> Optional[tuple[int, int]]:
    """(busy, total) jiffies of all CPUs from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(window: float = 0.1) -> float:
    """Cores kept busy by other processes over `window` seconds (this process idles meanwhile)."""
    first = _cpu_times()
    if first is not None:
        time.sleep(window)
        second = _cpu_times()
        if second is not None and second[1] > first[1]:
            return cores() * (second[0] - first[0]) / (second[1] - first[1])
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def choose_threads(requested: int = 0, *, n_cores: Optional[int] = None, busy: Optional[float] = None) -> int:
    """requested (> 0) or FACEBRIDGE_THREADS win; else the idle cores, rounded, at least one."""
    env = os.environ.get("FACEBRIDGE_THREADS", "").strip()
    if requested > 0:
        return requested
    if env.isdigit() and int(env) > 0:
        return int(env)
    n = n_cores if n_cores is not None else cores()
    load = busy if busy is not None else busy_cores()
    return max(1, min(n, round(n - load)))


def apply_cpu_threads(device: torch.device | str, requested: int = 0) -> Optional[int]:
    """Set torch's intra-op threads for a job on the CPU; returns the number (None for other devices)."""
    if torch.device(device).type != "cpu":
        return None
    n = choose_threads(requested)
    torch.set_num_threads(n)
    return n
