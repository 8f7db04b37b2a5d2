"""Which model and dataset the app shows: run folders, the selected run, and their caches.

Per-user state lives in st.session_state; a loaded model, a dataset and an encoding are shared
read-only between users through st.cache_resource.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
import torch

from explorer.markdown_text import markdown_text
from explorer.server.training_jobs import JobManager, max_jobs_from_env, server_job_manager
from explorer.views.cache import shared_result
from vae_core import analysis
from vae_core.data import ImageDataset, load_dataset, resolve_data_dir
from vae_core.data.spec import check_files_inside
from vae_core.runs.checkpoint import Run, load_run
from vae_core.runs.folder import resolve_run_folder
from vae_core.runs.format import CONFIG_FILE
from vae_core.runs.registry import RunSummary, list_runs
from vae_core.serving.point_decoder import PointDecoder
from vae_core.training.device import resolve_device

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_MODELS_DIR = REPO_ROOT / "assets" / "models"
DEFAULT_MODEL_NAME = "vae-mlp-2d-mnist5k"
MODEL_PATH_KEY = "model_path"

# Datasets that load offline, by image shape [C, H, W]: the stand-in when a run's own set cannot be loaded.
OFFLINE_STAND_INS = {(1, 28, 28): "mnist5k", (1, 8, 8): "digits", (1, 32, 32): "shapes", (1, 64, 64): "shapes:64"}


def runs_dir() -> Path:
    """Where runs trained in the app or uploaded are kept: $VAE_RUNS_DIR, else <repo>/runs."""
    return Path(os.environ.get("VAE_RUNS_DIR") or REPO_ROOT / "runs")


def assets_models_dir() -> Path:
    """The shipped default models: $VAE_ASSETS_MODELS_DIR (tests point it elsewhere), else ASSETS_MODELS_DIR."""
    return Path(os.environ.get("VAE_ASSETS_MODELS_DIR") or ASSETS_MODELS_DIR)


def model_choices() -> list[RunSummary]:
    """The shipped models (the default first), then the registry's runs; broken ones carry `error`."""
    assets = list_runs(assets_models_dir())
    assets.sort(key=lambda s: (s.path.name != DEFAULT_MODEL_NAME, s.name))
    seen = {s.path.resolve() for s in assets}
    registry = [s for s in list_runs(runs_dir()) if s.path.resolve() not in seen]
    return assets + registry


def default_model_path(choices: list[RunSummary] | None = None) -> str | None:
    """The first loadable choice (the 2-D VAE when the assets are there), or None when there is no model."""
    choices = model_choices() if choices is None else choices
    usable = [s for s in choices if s.error is None]
    return str(usable[0].path) if usable else None


def selected_model_path() -> str | None:
    """The path in st.session_state["model_path"], set to the default when missing."""
    if not st.session_state.get(MODEL_PATH_KEY):
        st.session_state[MODEL_PATH_KEY] = default_model_path()
    return st.session_state[MODEL_PATH_KEY]


def _config_mtime_ns(path: Path) -> int:
    try:
        return (resolve_run_folder(path) / CONFIG_FILE).stat().st_mtime_ns
    except (OSError, ValueError):
        return 0


def app_device() -> torch.device:
    """Where the app's models run: $VAE_DEVICE (auto, cpu, cuda or mps), else the CPU.

    The app decodes a handful of small images per interaction; on the CPU that costs less than a GPU's
    kernel launches and copies back, and it leaves the GPU to training jobs. VAE_DEVICE=cuda serves large
    conv models from the GPU.
    """
    name = os.environ.get("VAE_DEVICE") or "cpu"
    try:
        return resolve_device(name)
    except ValueError as err:
        raise ValueError(f"VAE_DEVICE={name}: {err}") from None


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load_run(path: str, config_mtime_ns: int, device: str) -> Run:
    # config_mtime_ns is part of the cache key: a run saved again (a new epoch) loads afresh.
    run = load_run(path, device=device)
    run.model.eval().requires_grad_(False)
    return run


def load_selected_run(path: str | Path) -> Run:
    """The run at `path`, loaded once per saved version; ValueError when it cannot be loaded."""
    path = Path(path)
    return _load_run(str(path), _config_mtime_ns(path), str(app_device()))


def current_run() -> Run:
    """The selected model, in eval mode and shared read-only; ValueError when there is none or it is broken."""
    path = selected_model_path()
    if path is None:
        raise ValueError(
            "No model yet: train one on the Train page, or upload a run (config.json + model.safetensors) in the sidebar."
        )
    return load_selected_run(path)


def run_key(run: Run) -> str:
    """"path@sha256": names exactly these weights, for the session state and the latent pad's model key."""
    return f"{run.path}@{run.weights_sha256}"


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _load_dataset(spec: str, seed: int) -> tuple[ImageDataset | None, str | None]:
    try:
        # A config.json anyone may upload names the spec: its files are read only inside the data folder.
        check_files_inside(spec, resolve_data_dir(None))
        return load_dataset(spec, seed=seed), None
    except ValueError as e:
        return None, str(e)


def dataset_for(run: Run) -> tuple[ImageDataset, str | None]:
    """(the run's dataset, None), or (an offline stand-in of the same image shape, why) when it cannot be loaded.

    Raises ValueError when neither can be loaded.
    """
    spec, seed = run.dataset_info["spec"], int(run.dataset_info.get("seed", 0))
    dataset, error = _load_dataset(spec, seed)
    if dataset is not None:
        return dataset, None
    shape = tuple(run.model_config.image_shape)
    stand_in = OFFLINE_STAND_INS.get(shape)
    # The messages are shown as markdown, and the spec (quoted in the error too) comes from a
    # config.json anyone may upload: both are escaped to show as text.
    if stand_in is not None and stand_in != spec:
        fallback, fallback_error = _load_dataset(stand_in, seed)
        if fallback is not None:
            return fallback, (f"The model's dataset {markdown_text(repr(spec))} cannot be loaded here "
                              f"({markdown_text(error)}); showing {stand_in!r} instead.")
        error = f"{error}; the stand-in {stand_in!r} failed too ({fallback_error})"
    raise ValueError(f"The model's dataset {markdown_text(repr(spec))} cannot be loaded here: {markdown_text(error)}")


def current_dataset() -> ImageDataset:
    """The dataset that goes with the selected model; shows a warning when a stand-in is used."""
    dataset, note = dataset_for(current_run())
    if note:
        st.warning(note, icon=":material/warning:")
    return dataset


@shared_result(max_entries=8, show_spinner="Encoding the images…")
def _encode(run: Run, dataset: ImageDataset, split: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    x, y = dataset.split(split)
    return analysis.encode_dataset(run.model, x, y=y)  # a conditional VAE encodes q(z|x, y) with the true labels


def cached_encoding(run: Run, split: str = "test") -> tuple[torch.Tensor, torch.Tensor | None]:
    """(μ [N, d], log σ² [N, d]) of the split's images under `run` (AE: (codes, None)); shared, do not edit."""
    dataset, _ = dataset_for(run)
    return _encode(run, dataset, split)


@shared_result(max_entries=8)
def _point_decoder(run: Run) -> PointDecoder:
    return PointDecoder(run.model)


def decode_point(run: Run, z, y=None) -> torch.Tensor:
    """E[x | z] (with class y for a conditional VAE) of one latent point, [C, H, W]: the decode a drag
    step, a click or a release asks for, through the run's traced decoder (vae_core.serving.point_decoder)."""
    return _point_decoder(run)(z, y)


def job_manager() -> JobManager:
    """This server's training jobs for the runs folder; ValueError when $VAE_MAX_TRAINING_JOBS is unusable."""
    return server_job_manager(str(runs_dir()), max_jobs_from_env())
