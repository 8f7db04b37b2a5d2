"""Runs on disk: save a model with its configs and history, load it back fully validated.

A save goes through runs.folder (atomic: the previous complete version or the new one, never a mix);
a load validates every file (runs.format) and checks the weights fit the model before building it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import safetensors.torch
import torch

from vae_core.models import AE, VAE, ModelConfig, build_model
from vae_core.runs.folder import install_run_folder, read_files, require_files, with_run_name
from vae_core.runs.format import (
    CONFIG_FILE,
    FORMAT_VERSION,
    MB,
    METRICS_FILE,
    OPTIMIZER_FILE,
    REQUIRED_FILES,
    WEIGHTS_FILE,
    max_bytes,
    parse_created,
    parse_json,
    parse_safetensors,
    sha256_hex,
    validate_dataset_info,
    validate_metrics,
    validate_run_config,
)
from vae_core.runs.names import sanitize_run_name
from vae_core.runs.optimizer_state import optimizer_state_bytes
from vae_core.training.config import TrainConfig


@dataclass
class Run:
    """A loaded run: the model in eval mode on its device, with everything saved beside it."""

    path: Path
    name: str
    created: str
    model: VAE | AE
    model_config: ModelConfig
    train_config: TrainConfig | None
    dataset_info: dict
    metrics: dict
    weights_sha256: str



def _check_weights_fit(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Raise ValueError naming the first tensor whose name, shape or dtype does not fit the model."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise ValueError(
            f"{WEIGHTS_FILE} lacks tensor(s) {missing[:5]} that config.json's model needs; "
            f"the weights belong to a different model"
        )
    unexpected = [k for k in tensors if k not in expected]
    if unexpected:
        raise ValueError(
            f"{WEIGHTS_FILE} has tensor(s) {unexpected[:5]} that config.json's model does not have; "
            f"the weights belong to a different model"
        )
    for key, want in expected.items():
        got = tensors[key]
        if tuple(got.shape) != tuple(want.shape):
            raise ValueError(
                f"{WEIGHTS_FILE}: tensor '{key}' has shape {list(got.shape)} but config.json's model "
                f"expects {list(want.shape)}"
            )
        if not got.is_floating_point():
            raise ValueError(f"{WEIGHTS_FILE}: tensor '{key}' has dtype {got.dtype}; expected floating point")


def _read_json_file(run_dir: str | Path, file_name: str, validate) -> dict:
    """One JSON file of a run, parsed and validated, without reading the weights."""
    try:
        _, files = read_files(Path(run_dir), (file_name,))
        require_files(files)
        return validate(parse_json(files[file_name], file_name))
    except ValueError as e:
        raise with_run_name(run_dir, e) from e


def read_run_config(run_dir: str | Path) -> dict:
    """config.json of a run, validated, without reading the weights."""
    return _read_json_file(run_dir, CONFIG_FILE, validate_run_config)


def read_run_metrics(run_dir: str | Path) -> dict:
    """metrics.json of a run, validated, without reading the weights."""
    return _read_json_file(run_dir, METRICS_FILE, validate_metrics)


def _load(run_dir: Path, device: str | torch.device) -> Run:
    _, files = read_files(run_dir, REQUIRED_FILES)
    require_files(files)
    config = validate_run_config(parse_json(files[CONFIG_FILE], CONFIG_FILE))
    metrics = validate_metrics(parse_json(files[METRICS_FILE], METRICS_FILE))
    weights = files[WEIGHTS_FILE]
    tensors = parse_safetensors(weights, WEIGHTS_FILE)
    if sha256_hex(weights) != config["weights_sha256"]:
        raise ValueError(
            f"{WEIGHTS_FILE} does not match config.json (its sha256 differs from weights_sha256): the two files "
            f"come from different saves; copy all files of the run from the same folder"
        )
    model_config = ModelConfig.from_dict(config["model"])
    train = config["train"]
    # Shapes are compared on the meta device first: a config.json asking for huge layers must not
    # make us allocate gigabytes before we notice the weights (at most MAX_WEIGHTS_BYTES) do not fit.
    with torch.device("meta"):
        _check_weights_fit(build_model(model_config), tensors)
    model = build_model(model_config)
    model.load_state_dict(tensors, strict=True)
    model.to(device).eval()
    return Run(
        path=run_dir,
        name=config["name"],
        created=config["created"],
        model=model,
        model_config=model_config,
        train_config=None if train is None else TrainConfig.from_dict(train),
        dataset_info=config["dataset"],
        metrics=metrics,
        weights_sha256=config["weights_sha256"],
    )


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> Run:
    """Load and validate a run; the model is in eval mode on `device`. Raises ValueError on any problem."""
    try:
        return _load(Path(run_dir), device)
    except ValueError as e:
        raise with_run_name(run_dir, e) from e


def _existing_created(run_dir: Path) -> str | None:
    """Keep a run's creation time when it is saved again (each epoch, or on resume)."""
    try:
        created = json.loads((run_dir / CONFIG_FILE).read_bytes()).get("created")
    except (OSError, ValueError, AttributeError):
        return None
    return created if isinstance(created, str) and parse_created(created) else None


def weights_file_bytes(model: torch.nn.Module) -> bytes:
    """The model's weights as the bytes of a run's model.safetensors (their sha256 is the run's weights_sha256)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return safetensors.torch.save(state, metadata={"format": "pt"})


def save_run(
    run_dir: str | Path,
    model: VAE | AE,
    *,
    train_config: TrainConfig | None,
    dataset_info: dict,
    metrics: dict,
    optimizer_state: dict | None = None,
    name: str | None = None,
) -> Path:
    """Write a run folder atomically (previous complete version or new one, never a mix); returns its path."""
    run_dir = Path(run_dir)
    if sanitize_run_name(run_dir.name) != run_dir.name:
        raise ValueError(f"run folder name {run_dir.name!r} is not a valid run name; try {sanitize_run_name(run_dir.name)!r}")
    if train_config is not None and not isinstance(train_config, TrainConfig):
        raise TypeError(f"train_config: expected TrainConfig or None, got {type(train_config).__name__}")
    model_config: ModelConfig = model.config
    dataset = validate_dataset_info(dict(dataset_info), model_config.image_shape, where="dataset_info")
    validate_metrics(metrics, "metrics")
    try:
        metrics_bytes = json.dumps(metrics).encode()
    except (TypeError, ValueError) as e:
        raise ValueError(f"metrics: not JSON-serialisable ({e})") from None

    weights = weights_file_bytes(model)
    cap = max_bytes(WEIGHTS_FILE)
    if len(weights) > cap:
        raise ValueError(f"model is {len(weights) / MB:.0f} MB, over the {cap / MB:.0f} MB limit for a run")
    weights_sha = sha256_hex(weights)
    config = {
        "format_version": FORMAT_VERSION,
        "name": run_dir.name if name is None else name,
        "created": _existing_created(run_dir) or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_config.to_dict(),
        "train": None if train_config is None else train_config.to_dict(),
        "dataset": dataset,
        "weights_sha256": weights_sha,
    }
    validate_run_config(config)
    files = {
        CONFIG_FILE: (json.dumps(config, indent=2) + "\n").encode(),
        WEIGHTS_FILE: weights,
        METRICS_FILE: metrics_bytes,
    }
    if optimizer_state is not None:
        files[OPTIMIZER_FILE] = optimizer_state_bytes(optimizer_state, weights_sha)
    install_run_folder(run_dir, files)
    return run_dir

