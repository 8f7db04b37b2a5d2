"""A β sweep: train one VAE per β on the shapes data and tabulate −ELBO, KL, MIG and the FactorVAE score.

Each model is an ordinary run folder `<name>-beta<β>` made by training_run.train_run, one after the other.
The table lands beside them as `<name>-sweep.json`, `.csv` and `.md`. −ELBO, reconstruction and KL are
per test image in nats (lower −ELBO is better; KL = KL(q(z|x) || p(z)) ≥ 0, without the β weight).
"""
from __future__ import annotations

import csv
import io
import json
import os
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from vae_core.analysis.disentanglement import (
    FACTOR_VAE_BATCH,
    FACTOR_VAE_EVAL_VOTES,
    FACTOR_VAE_TRAIN_VOTES,
    MIG_SAMPLES,
    score_on_shapes,
)
from vae_core.data import load_dataset, parse_spec
from vae_core.evaluation import evaluate
from vae_core.fields import is_int, is_number
from vae_core.models import ModelConfig
from vae_core.runs.names import run_dir_for, run_name_taken, sanitize_run_name
from vae_core.training.config import TrainConfig
from vae_core.training.device import resolve_device
from vae_core.training.loop import MetricsCallback
from vae_core.training.run import train_run

TABLE_SUFFIX = "-sweep"
UNITS = "nats per test image; neg_elbo = recon + kl (lower is better); mig and factor_vae in [0, 1] (higher is better)"
_NUMBER_COLUMNS = ("neg_elbo", "recon", "kl", "mig", "factor_vae")


@dataclass
class ScoreSettings:
    """How the disentanglement scores are estimated (disentanglement_lib's sizes by default)."""

    seed: int = 0
    mig_samples: int = MIG_SAMPLES
    factor_vae_train: int = FACTOR_VAE_TRAIN_VOTES
    factor_vae_eval: int = FACTOR_VAE_EVAL_VOTES
    factor_vae_batch: int = FACTOR_VAE_BATCH

    def __post_init__(self) -> None:
        for name in ("mig_samples", "factor_vae_train", "factor_vae_eval"):
            value = getattr(self, name)
            if not is_int(value) or value < 2:
                raise ValueError(f"{name.replace('_', ' ')}: expected a whole number ≥ 2, got {value!r}")
        if not is_int(self.factor_vae_batch) or self.factor_vae_batch < 2:
            raise ValueError(f"FactorVAE batch: expected a whole number ≥ 2 images per vote, got {self.factor_vae_batch!r}")


@dataclass
class SweepRow:
    """One model of the sweep: its β, run folder name, test terms (nats per image) and scores."""

    beta: float
    run: str
    neg_elbo: float
    recon: float
    kl: float
    active_units: int
    mig: float
    factor_vae: float
    mig_per_factor: list[float]  # the gap of each factor, [F]
    mutual_info: list[list[float]]  # I(z_u; v_k) in nats, [d][F]
    factor_entropy: list[float]  # H(v_k) in nats, [F]
    kl_per_dim: list[float]  # test KL of each latent dimension, nats, [d]


@dataclass
class SweepTable:
    """The rows of a sweep (ascending β) with what is needed to read them: dataset, factors, score settings."""

    name: str
    dataset: str
    factor_names: list[str]
    scores: ScoreSettings
    rows: list[SweepRow] = field(default_factory=list)
    units: str = UNITS

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DimensionRole:
    """What one latent dimension does: its test KL (nats) and the factor it says most about, as I(z_u; v_k) / H(v_k)."""

    dim: int
    kl: float
    factor: int
    share: float


def factor_shares(row: SweepRow) -> np.ndarray:
    """I(z_u; v_k) / H(v_k), [d, F]: the share of each factor's entropy that each latent dimension holds."""
    entropy = np.asarray(row.factor_entropy)
    return np.asarray(row.mutual_info) / np.where(entropy > 0, entropy, 1.0)[None, :]


def dimension_roles(row: SweepRow) -> list[DimensionRole]:
    """Every latent dimension of a row's model, most used (highest KL) first, with its best-explained factor."""
    share = factor_shares(row)
    order = np.argsort(-np.asarray(row.kl_per_dim), kind="stable")
    best = share.argmax(1)
    return [DimensionRole(int(u), float(row.kl_per_dim[u]), int(best[u]), float(share[u, best[u]])) for u in order]


def sweep_run_name(name: str, beta: float) -> str:
    """The run folder of one β: 'vae-mlp-8d-shapes' and 4 give 'vae-mlp-8d-shapes-beta4'."""
    return sanitize_run_name(f"{name}-beta{beta:g}")


def table_path(out_dir: str | Path, name: str, extension: str) -> Path:
    """Where a sweep's table goes: <out>/<name>-sweep.<json|csv|md>."""
    return Path(out_dir) / f"{name}{TABLE_SUFFIX}.{extension}"


def check_betas(betas) -> list[float]:
    """Distinct finite β ≥ 0, ascending; ValueError otherwise."""
    betas = list(betas)
    if not betas:
        raise ValueError("beta: expected at least one value, such as 1,2,4,8")
    if any(not is_number(b) or b < 0 for b in betas):
        raise ValueError(f"beta: expected finite numbers ≥ 0, got {betas}")
    if len({float(b) for b in betas}) != len(betas):
        raise ValueError(f"beta: each value once, got {betas}")
    return sorted(float(b) for b in betas)


def run_sweep(
    model_config: ModelConfig,
    train_config: TrainConfig,
    dataset_spec: str,
    betas,
    out_dir: str | Path,
    name: str,
    *,
    scores: ScoreSettings | None = None,
    save_optimizer: bool = True,
    callback: MetricsCallback | None = None,
    stop_event: threading.Event | None = None,
    on_run_start: Callable[[int, float, Path], None] | None = None,
) -> SweepTable:
    """Train a VAE per β (everything else from the configs), score each, and write the table after every run.

    A set `stop_event` ends the current run early (it is saved and scored) and skips the rest.
    """
    betas = check_betas(betas)
    scores = scores or ScoreSettings()
    if parse_spec(dataset_spec).kind != "shapes":
        raise ValueError(f"dataset {dataset_spec!r}: a sweep scores disentanglement against ground-truth factors, "
                         "which only the shapes data has; use shapes[:SIZE[:COUNT]]")
    if model_config.kind != "vae":
        raise ValueError("model kind: a β sweep needs a VAE (an AE has no KL term for β to weigh)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dirs = [run_dir_for(out_dir, sweep_run_name(name, b)) for b in betas]
    taken = [d.name for d in run_dirs if run_name_taken(out_dir, d.name)]
    taken += [path.name for path in [table_path(out_dir, name, "json")] if path.exists()]
    if taken:
        raise ValueError(f"{out_dir}: {', '.join(taken)} exist(s) already; pick another --name or --out")
    dataset = load_dataset(dataset_spec, seed=train_config.seed)
    table = SweepTable(name, dataset.spec, list(dataset.factor_names), scores)
    for index, (beta, run_dir) in enumerate(zip(betas, run_dirs)):
        if on_run_start is not None:
            on_run_start(index, beta, run_dir)
        result = train_run(model_config, replace(train_config, beta=beta), dataset_spec, run_dir, dataset=dataset,
                           callback=callback, stop_event=stop_event, save_optimizer=save_optimizer)
        model = result.model.to(resolve_device(train_config.device)).eval()
        table.rows.append(score_run(model, dataset, run_dir.name, beta, scores, seed=train_config.seed))
        write_sweep_table(table, out_dir)
        if stop_event is not None and stop_event.is_set():
            break
    return table


def score_run(model, dataset, run: str, beta: float, scores: ScoreSettings, seed: int) -> SweepRow:
    """The table row of one trained model: test terms (nats per image, z sampled with `seed`) and scores."""
    test = evaluate(model, dataset.test_x, seed=seed)
    mig, factor_vae = score_on_shapes(
        model, dataset.image_shape[-1], seed=scores.seed, mig_samples=scores.mig_samples,
        factor_vae_train=scores.factor_vae_train, factor_vae_eval=scores.factor_vae_eval,
        factor_vae_batch=scores.factor_vae_batch,
    )  # fmt: skip
    return SweepRow(
        beta=beta, run=run, neg_elbo=test["neg_elbo"], recon=test["recon"], kl=test["kl"],
        active_units=test["active_units"], mig=mig.score, factor_vae=factor_vae.score,
        mig_per_factor=mig.gap_per_factor.tolist(), mutual_info=mig.mutual_info.tolist(),
        factor_entropy=mig.entropy.tolist(), kl_per_dim=list(test["kl_per_dim"]),
    )  # fmt: skip


def markdown_table(table: SweepTable) -> str:
    """β against −ELBO, recon, KL (nats per test image), active units, MIG and the FactorVAE score."""
    lines = [
        "| β | run | −ELBO | recon | KL | active units | MIG | FactorVAE |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in table.rows:
        lines.append(f"| {r.beta:g} | {r.run} | {r.neg_elbo:.2f} | {r.recon:.2f} | {r.kl:.2f} | {r.active_units} "
                     f"| {r.mig:.3f} | {r.factor_vae:.3f} |")
    return "\n".join(lines)


def csv_table(table: SweepTable) -> str:
    """One line per β; the per-factor MIG gaps as columns mig_<factor>."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["beta", "run", *_NUMBER_COLUMNS[:3], "active_units", *_NUMBER_COLUMNS[3:],
                     *(f"mig_{f}" for f in table.factor_names)])
    for r in table.rows:
        writer.writerow([f"{r.beta:g}", r.run, *(f"{getattr(r, c):.4f}" for c in _NUMBER_COLUMNS[:3]), r.active_units,
                         *(f"{getattr(r, c):.4f}" for c in _NUMBER_COLUMNS[3:]), *(f"{g:.4f}" for g in r.mig_per_factor)])
    return buffer.getvalue()


def write_sweep_table(table: SweepTable, out_dir: str | Path) -> list[Path]:
    """Write <name>-sweep.json, .csv and .md into out_dir, each atomically; returns their paths."""
    header = (f"β sweep `{table.name}` on `{table.dataset}`: −ELBO, recon and KL in nats per test image "
              f"(lower −ELBO is better); MIG and FactorVAE in [0, 1] (higher is more disentangled).\n\n")
    contents = {
        "json": json.dumps(table.to_dict(), indent=1) + "\n",
        "csv": csv_table(table),
        "md": header + markdown_table(table) + "\n",
    }
    paths = []
    for extension, text in contents.items():
        path = table_path(out_dir, table.name, extension)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        paths.append(path)
    return paths


def read_sweep_table(path: str | Path) -> SweepTable:
    """A sweep table from its JSON file; ValueError naming the file when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = [SweepRow(**row) for row in data.pop("rows")]
        scores = ScoreSettings(**data.pop("scores"))
        table = SweepTable(rows=rows, scores=scores, **data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path.name}: cannot read the sweep table ({e})") from None
    except (TypeError, KeyError, AttributeError, ValueError) as e:
        raise ValueError(f"{path.name}: not a sweep table written by `python -m vae_core sweep` ({e})") from None
    _check_rows(table, path.name)
    return table


def _check_rows(table: SweepTable, where: str) -> None:
    for row in table.rows:
        numbers = [row.beta, row.neg_elbo, row.recon, row.kl, row.mig, row.factor_vae, *row.mig_per_factor,
                   *row.factor_entropy, *row.kl_per_dim, *(v for line in row.mutual_info for v in line)]
        if not all(is_number(v) for v in numbers):
            raise ValueError(f"{where}: row β = {row.beta!r} holds a value that is not a finite number")
        if len(row.mig_per_factor) != len(table.factor_names) or any(len(line) != len(table.factor_names) for line in row.mutual_info):
            raise ValueError(f"{where}: row β = {row.beta:g} does not have one value per factor {table.factor_names}")
        if len(row.kl_per_dim) != len(row.mutual_info) or len(row.factor_entropy) != len(table.factor_names):
            raise ValueError(f"{where}: row β = {row.beta:g} does not have one KL and one row of mutual information per latent dimension")
        if sanitize_run_name(row.run) != row.run:
            raise ValueError(f"{where}: row β = {row.beta:g} names an invalid run folder {row.run!r}")


def find_sweep_tables(folder: str | Path) -> list[Path]:
    """The sweep tables (<name>-sweep.json) directly in `folder`, by name; none when it is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{TABLE_SUFFIX}.json") if not p.name.startswith("."))
