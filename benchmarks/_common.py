"""What the benchmarks share: the host a figure was measured on, and the p50 / p99 of latencies.

A speed means little without the machine it came from, and a latency little without its
tail, so every benchmark describes its host and summarises its timings the same way, here.

    from _common import describe_host, p50_p99   # a benchmark's own folder is on sys.path
    print(f"machine: {describe_host()}")
    p50, p99 = p50_p99(seconds)
    save_report(out / "name.json", args, results=results)   # the host and the arguments beside them
"""

import datetime
import json
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def host() -> dict:
    """The machine and the moment, for a benchmark's JSON report."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def describe_host(info: dict | None = None) -> str:
    """One line of `host()` (measured now unless given), for a benchmark's printed header."""
    info = info or host()
    return f"{info['cpu']}, {info['cores']} cores; python {info['python']}; {info['platform']}; {info['date']}"


def save_report(path, args, **sections) -> dict:
    """Write a benchmark's JSON report to `path` (its folder made): the host, the arguments and
    `sections`; print the host's line; return the report."""
    report = {"host": host(), "args": {k: str(v) for k, v in vars(args).items()}, **sections}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=1, default=str))
    print(f"host: {describe_host(report['host'])}")
    return report


def p50_p99(samples) -> tuple[float, float]:
    """(median, 99th percentile) of the samples, in their unit; numpy's linear interpolation
    between the two nearest samples, as `np.percentile` does by default."""
    import numpy as np  # on use: a benchmark that measures its own memory imports it when it chooses

    samples = np.asarray(samples, np.float64)
    return float(np.median(samples)), float(np.percentile(samples, 99))
