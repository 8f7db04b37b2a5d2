"""vae_core: a plain PyTorch library of VAEs, their objective, training and analysis. No Streamlit.

The front door holds what a notebook needs:

    import vae_core
    data = vae_core.load_dataset("mnist5k")
    result = vae_core.train_run(vae_core.ModelConfig(latent_dim=2), vae_core.TrainConfig(epochs=10),
                                "mnist5k", "runs/my-vae", dataset=data)
    run = vae_core.load_run("runs/my-vae")
    vae_core.evaluate(run.model, data.test_x, iw_samples=100)   # nats per image

Each name is imported on first use, so `python -m vae_core --help` and `import vae_core.data` stay quick.
The stages behind it (imports run one way, see docs/ARCHITECTURE.md): data, models -> objective ->
evaluation -> runs -> training -> analysis -> serving -> cli and sweep.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_FRONT_DOOR = {
    "ModelConfig": "vae_core.models",
    "build_model": "vae_core.models",
    "TrainConfig": "vae_core.training.config",
    "load_dataset": "vae_core.data",
    "train_run": "vae_core.training.run",
    "resume_run": "vae_core.training.run",
    "evaluate": "vae_core.evaluation",
    "load_run": "vae_core.runs.checkpoint",
    "save_run": "vae_core.runs.checkpoint",
    "list_runs": "vae_core.runs.registry",
}

__all__ = sorted(_FRONT_DOOR)

if TYPE_CHECKING:
    from vae_core.data import load_dataset
    from vae_core.evaluation import evaluate
    from vae_core.models import ModelConfig, build_model
    from vae_core.runs.checkpoint import load_run, save_run
    from vae_core.runs.registry import list_runs
    from vae_core.training.config import TrainConfig
    from vae_core.training.run import resume_run, train_run


def __getattr__(name: str):
    if name not in _FRONT_DOOR:
        raise AttributeError(f"module 'vae_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(_FRONT_DOOR[name]), name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
