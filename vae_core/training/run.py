"""Train a model from configs and save it as a run folder: the one path the CLI and the app share.

A session holds the claim on its run name (runs.names.claim_run_name) from before training until
the run is saved, so two sessions never train into the same folder."""
from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from vae_core.data import ImageDataset, dataset_info, load_dataset
from vae_core.fields import ConfigError
from vae_core.models import ModelConfig, build_model
from vae_core.runs.checkpoint import load_run, save_run
from vae_core.runs.names import RunNameClaim, claim_run_name
from vae_core.runs.optimizer_state import load_optimizer_state
from vae_core.training import distributed
from vae_core.training.config import TrainConfig
from vae_core.training.loop import MetricsCallback, TrainResult, train

# Seeding the global RNG and building must not interleave between threads, or two runs with
# the same seed would start from different weights.
_build_lock = threading.Lock()


def build_seeded_model(config: ModelConfig, seed: int) -> torch.nn.Module:
    """The model's initial weights depend on `seed` alone; the caller's RNG state is left as it was."""
    with _build_lock, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


def check_dataset_fits(model_config: ModelConfig, dataset: ImageDataset) -> None:
    if tuple(model_config.image_shape) != dataset.image_shape:
        c, h, w = dataset.image_shape
        mc, mh, mw = model_config.image_shape
        raise ConfigError("dataset", f"dataset {dataset.spec!r} has {c}×{h}×{w} images but the model expects "
                                     f"{mc}×{mh}×{mw}; pick a dataset of the model's size")


def _check_claim(claim: RunNameClaim | None, run_dir: Path) -> None:
    """A claim handed in by the caller must be the claim on `run_dir`."""
    if claim is not None and (claim.name != run_dir.name or claim.root.resolve() != run_dir.parent.resolve()):
        raise ValueError(f"run folder {run_dir} is not the one claimed ({claim.run_dir})")


def train_run(
    model_config: ModelConfig,
    train_config: TrainConfig,
    dataset_spec: str,
    run_dir: str | Path,
    *,
    data_dir: str | None = None,
    callback: MetricsCallback | None = None,
    stop_event: threading.Event | None = None,
    dataset: ImageDataset | None = None,
    save_optimizer: bool = True,
    on_start: Callable[[torch.nn.Module, ImageDataset], None] | None = None,
    claim: RunNameClaim | None = None,
) -> TrainResult:
    """Build, train and save a new run into `run_dir` (a folder made by runs.names.run_dir_for).

    `model_config.image_shape` is taken from the dataset. The run is saved even when training
    stops early; a diverged run keeps its last finite weights. Without `save_optimizer` the run
    is smaller (shipped assets) but cannot be resumed with its optimizer state. `on_start` sees the
    built model and the dataset before the first step (the app snapshots latent maps with them).
    Pass the `claim` on the run's name if the caller took it already (a queued job); otherwise the
    name is claimed here, and a name that is taken raises RunNameTaken before any work is done.
    """
    run_dir = Path(run_dir)
    _check_claim(claim, run_dir)
    # Under torchrun only rank 0 writes the run folder, so only it claims the name.
    own_claim = claim is None and distributed.is_main_process()
    if own_claim:
        claim = claim_run_name(run_dir.parent, run_dir.name)
    try:
        dataset = dataset or load_dataset(dataset_spec, data_dir=data_dir, seed=train_config.seed)
        model_config = replace(model_config, image_shape=dataset.image_shape)
        model = build_seeded_model(model_config, train_config.seed)
        if on_start is not None:
            on_start(model, dataset)
        result = train(model, dataset, train_config, callback=callback, stop_event=stop_event)
        _save(run_dir, result, train_config, dataset, save_optimizer)
    finally:
        if own_claim:
            claim.release()
    return result


def resume_run(
    run_dir: str | Path,
    *,
    epochs: int | None = None,
    time_limit: float | None = None,
    data_dir: str | None = None,
    callback: MetricsCallback | None = None,
    stop_event: threading.Event | None = None,
    on_start: Callable[[torch.nn.Module, ImageDataset], None] | None = None,
    claim: RunNameClaim | None = None,
) -> TrainResult:
    """Continue a saved run in place from where it stopped, with its optimizer state.

    The run's name is claimed meanwhile: resuming a run another session is training raises RunNameTaken.
    Pass the `claim` if the caller took it already (a queued job); the caller releases it then.
    `on_start` sees the loaded model and the dataset before the first step, as in train_run."""
    run_dir = Path(run_dir)
    _check_claim(claim, run_dir)
    # Under torchrun only rank 0 writes the run folder, so only it claims the name.
    own_claim = None
    if claim is None and distributed.is_main_process():
        own_claim = claim_run_name(run_dir.parent, run_dir.name, new=False)
    with own_claim or contextlib.nullcontext():
        run = load_run(run_dir)
        if run.train_config is None:
            raise ValueError(f"{run_dir}: this run has no training config, so it cannot be resumed")
        train_config = replace(run.train_config, epochs=epochs or run.train_config.epochs, time_limit=time_limit)
        dataset = load_dataset(run.dataset_info["spec"], data_dir=data_dir,
                               seed=int(run.dataset_info.get("seed", train_config.seed)))
        check_dataset_fits(run.model_config, dataset)
        if on_start is not None:
            on_start(run.model, dataset)
        run.model.train()
        result = train(
            run.model, dataset, train_config, callback=callback, stop_event=stop_event,
            optimizer_state=load_optimizer_state(run_dir), previous_metrics=run.metrics,
        )
        _save(run_dir, result, train_config, dataset)
    return result


def _save(run_dir, result: TrainResult, train_config: TrainConfig, dataset: ImageDataset, save_optimizer: bool = True) -> None:
    if not distributed.is_main_process():
        return  # under torchrun every rank holds the same weights; rank 0 writes the one run folder
    run_dir = Path(run_dir)
    save_run(
        run_dir, result.model.cpu(), train_config=train_config,
        dataset_info=dataset_info(dataset, train_config.seed), metrics=result.metrics,
        optimizer_state=result.optimizer_state if save_optimizer else None, name=run_dir.name,
    )

