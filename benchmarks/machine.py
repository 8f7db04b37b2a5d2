"""The machine line every benchmark prints: CPU, cores, torch threads and load, plus command and date."""
from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

import torch


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "load_avg_1min": os.getloadavg()[0]}


def threads_source() -> str:
    env = os.environ.get("OMP_NUM_THREADS")
    return f"OMP_NUM_THREADS={env}" if env else "torch default"


def print_header(title: str, info: dict) -> None:
    print(title)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine: {info['cpu']}, {info['cores']} cores; torch {info['torch']} with {info['torch_threads']} "
          f"threads ({threads_source()}); python {info['python']}; load average {info['load_avg_1min']:.2f} "
          "(other processes share the cores, so compare within one run)")
