"""List the runs under a folder cheaply (config.json and metrics.json only, never the weights).

Summaries are remembered per folder and file identity (inode, size, mtime of both JSON files), since
the app lists every run on every rerun of every session. A save swaps in new files, so a changed run
is read afresh.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from vae_core.runs.checkpoint import read_run_config, read_run_metrics
from vae_core.runs.folder import complete_siblings, resolve_run_folder
from vae_core.runs.format import CONFIG_FILE, METRICS_FILE, created_timestamp
from vae_core.runs.names import TEMP_SIBLING_RE


@dataclass
class RunSummary:
    """One row of the run picker. A run that cannot be read has `error` set and None fields."""

    name: str
    path: Path
    kind: str | None
    arch: str | None
    dataset: str | None
    latent_dim: int | None
    likelihood: str | None
    test_neg_elbo: float | None  # nats per image of the last epoch's test split (lower is better)
    created: str
    error: str | None = None

    @property
    def label(self) -> str:
        """'name · dataset · d=N · test −ELBO 123.4' for pickers; an AE has no ELBO, so 'test recon'."""
        if self.error is not None:
            return f"{self.name} · cannot be loaded"
        parts = [self.name, str(self.dataset), f"d={self.latent_dim}"]
        if self.test_neg_elbo is not None:
            term = "recon" if self.kind == "ae" else "−ELBO"
            parts.append(f"test {term} {self.test_neg_elbo:.1f}")
        return " · ".join(parts)


def _last_test_neg_elbo(metrics: dict) -> float | None:
    history = metrics.get("history") or []
    try:
        value = history[-1]["test"]["neg_elbo"]
    except (IndexError, KeyError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


SUMMARY_CACHE_SIZE = 1024
_summaries: OrderedDict[tuple, RunSummary] = OrderedDict()
_summaries_lock = threading.Lock()


def _identity(run_dir: Path) -> tuple | None:
    """What names this version of a run's JSON files, or None when they cannot be stat'ed."""
    try:
        folder = resolve_run_folder(run_dir)
        stats = [os.stat(folder / name) for name in (CONFIG_FILE, METRICS_FILE)]
    except (OSError, ValueError):
        return None
    return (str(run_dir), str(folder), *((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats))


def summarize_run(run_dir: str | Path) -> RunSummary:
    """The registry row of one run folder; problems go into `error` instead of raising."""
    run_dir = Path(run_dir)
    key = _identity(run_dir)
    if key is not None:
        with _summaries_lock:
            if key in _summaries:
                _summaries.move_to_end(key)
                return dataclasses.replace(_summaries[key])
    summary = _read_summary(run_dir)
    if key is not None and key == _identity(run_dir):  # unchanged while it was read
        with _summaries_lock:
            _summaries[key] = summary
            while len(_summaries) > SUMMARY_CACHE_SIZE:
                _summaries.popitem(last=False)
    return dataclasses.replace(summary)


def _read_summary(run_dir: Path) -> RunSummary:
    try:
        config = read_run_config(run_dir)
        metrics = read_run_metrics(run_dir)
    except ValueError as e:
        return RunSummary(run_dir.name, run_dir, None, None, None, None, None, None, created="", error=str(e))
    model = config["model"]
    return RunSummary(
        name=config["name"],
        path=run_dir,
        kind=model["kind"],
        arch=model["arch"],
        dataset=config["dataset"]["spec"],
        latent_dim=model["latent_dim"],
        likelihood=model["likelihood"],
        test_neg_elbo=_last_test_neg_elbo(metrics),
        created=config["created"],
    )


def list_runs(root: str | Path) -> list[RunSummary]:
    """Every run folder directly in `root`, newest first (then by name); a missing root gives []."""
    root = Path(root)
    if not root.is_dir():
        return []
    run_dirs = set()
    for entry in root.iterdir():
        if not entry.name.startswith(".") and entry.is_dir():
            run_dirs.add(entry)
        # A save killed between its two renames leaves only hidden copies; the run still exists.
        elif (m := TEMP_SIBLING_RE.match(entry.name)) and not (root / m["name"]).exists():
            if complete_siblings(root / m["name"]):
                run_dirs.add(root / m["name"])
    summaries = [summarize_run(d) for d in run_dirs]
    return sorted(summaries, key=lambda s: (-created_timestamp(s.created), s.name))
