"""The trainer's metrics records: one per step and one per epoch, as the callback and metrics.json see them.

The record formats are in docs/ARCHITECTURE.md. Every loss value is per image, in nats; "neg_elbo" is
−ELBO (lower is better), "recon" is −log p(x|z), "kl" is KL(q(z|x) || p(z)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vae_core.evaluation import ACTIVE_UNIT_THRESHOLD, evaluate
from vae_core.training.config import TrainConfig

MAX_STORED_STEPS = 2000
TRAIN_TERMS = ("neg_elbo", "recon", "kl", "loss")


def thin_steps(steps: list[dict], limit: int = MAX_STORED_STEPS) -> list[dict]:
    """Every k-th step record (and always the last) so metrics.json stays small."""
    if len(steps) <= limit:
        return steps
    stride = math.ceil(len(steps) / limit)
    kept = steps[::stride]
    if kept[-1] is not steps[-1]:
        kept.append(steps[-1])
    return kept


def rounded(value):
    """Floats to 6 significant digits, recursively: step curves need no more, and metrics.json stays small."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def metrics_payload(history: list[dict], steps: list[dict], status: dict) -> dict:
    """What metrics.json holds: every epoch record, the step records thinned and rounded, and the status."""
    return {"history": history, "steps": [rounded(r) for r in thin_steps(steps)], "status": status}


@dataclass
class SavedProgress:
    """Where a saved run stopped: its records, finished epochs, step count, and the stopped epoch's partial
    record (when it stopped mid-epoch), to go on from."""

    history: list[dict]
    steps: list[dict]
    epochs_done: int
    step: int
    partial: dict | None


def saved_progress(previous_metrics: dict | None) -> SavedProgress:
    """The progress recorded in a run's metrics.json (nothing for a new run)."""
    if not previous_metrics:
        return SavedProgress([], [], 0, 0, None)
    status = previous_metrics.get("status") or {}
    epochs_done = int(status.get("epochs_done", 0))
    records = previous_metrics.get("history", [])
    history = [r for r in records if not r.get("partial") and r["epoch"] <= epochs_done]
    # The saved weights and optimizer state are those of status["step"], mid-epoch after a stop.
    step = max(int(history[-1]["step"]) if history else 0, int(status.get("step", 0)))
    partial = next((r for r in records if r.get("partial") and r["step"] == step), None)
    steps = [r for r in previous_metrics.get("steps", []) if r["step"] <= step]
    return SavedProgress(history, steps, epochs_done, step, partial)


def step_record(agreed, epoch: int, step: int, progress: float, config: TrainConfig, weight: float,
                samples_per_s: float, elapsed: float) -> dict:
    """One optimiser step's record from the batch's agreed numbers (distributed.AgreedStep)."""
    return {
        "kind": "step",
        "epoch": epoch,
        "step": step,
        "epoch_progress": progress,
        "total_epochs": config.epochs,
        "train": dict(zip(TRAIN_TERMS, agreed.values)),
        "kl_per_dim": agreed.kl_per_dim.tolist(),
        "active_units": int((agreed.mu_var > ACTIVE_UNIT_THRESHOLD).sum()),
        "kl_weight": weight,
        "samples_per_s": samples_per_s,
        "elapsed_s": elapsed,
    }


def epoch_record(model, test: tuple[torch.Tensor, torch.Tensor], train_means: dict, epoch: float, step: int,
                 config: TrainConfig, weight: float, samples_per_s: float, elapsed: float) -> dict:
    """The record of a finished (or stopped) epoch: its mean training terms and the whole test split's."""
    test_x, test_y = test
    model.eval()
    scores = evaluate(model, test_x, seed=config.seed, y=test_y) if test_x.shape[0] > 0 else None
    model.train()
    record = {
        "kind": "epoch",
        "epoch": epoch,
        "step": step,
        "total_epochs": config.epochs,
        "train": train_means,
        "test": None,
        "kl_per_dim": [],
        "active_units": 0,
        "kl_weight": weight,
        "samples_per_s": samples_per_s,
        "elapsed_s": elapsed,
    }
    if scores is not None:
        record["test"] = {k: scores[k] for k in ("neg_elbo", "recon", "kl")}
        record["kl_per_dim"] = scores["kl_per_dim"]
        record["active_units"] = scores["active_units"]
    return record
