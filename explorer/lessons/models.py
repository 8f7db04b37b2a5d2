"""Which models a lesson uses: the selected one when it fits, else the best match among all runs."""
from __future__ import annotations

import streamlit as st

from explorer import state
from vae_core.data import ImageDataset
from vae_core.models import ModelConfig
from vae_core.runs.checkpoint import Run
from vae_core.runs.matching import RunInfo, run_infos


def all_run_infos() -> list[RunInfo]:
    return run_infos(state.model_choices())


def is_lecture_vae(config: ModelConfig) -> bool:
    """The lessons follow the unconditional VAE of the lecture: variational, and not told the label."""
    return config.is_variational and not config.is_conditional


def _lecture_vae_infos() -> list[RunInfo]:
    infos = []
    for info in all_run_infos():
        try:
            if is_lecture_vae(ModelConfig.from_dict(info.model)):
                infos.append(info)
        except ValueError:
            continue
    return infos


def a_vae() -> Run | None:
    """The selected run if it is a VAE, else the first loadable VAE (2-D ones first); None when there is none.

    A conditional VAE hands over to a plain one."""
    try:
        run = state.current_run()
        if is_lecture_vae(run.model_config):
            return run
    except ValueError:
        pass
    for info in sorted(_lecture_vae_infos(), key=lambda i: (i.model["latent_dim"] != 2, i.name)):
        try:
            return state.load_selected_run(info.path)
        except ValueError:
            continue
    return None


def require_vae() -> Run | None:
    """a_vae(), or an explanation on the page and None."""
    run = a_vae()
    if run is None:
        st.info("This lesson needs a VAE. Train one on the **Train** page (model VAE), then come back.")
    return run


def dataset_of(run: Run, warn_stand_in: bool = True) -> ImageDataset | None:
    """The run's dataset (with a warning when it is a stand-in, unless told not to), or None with the reason
    shown as an error."""
    try:
        dataset, note = state.dataset_for(run)
    except ValueError as e:
        st.error(str(e))
        return None
    if note and warn_stand_in:
        st.warning(note)
    return dataset


def require_vae_and_dataset(warn_stand_in: bool = True) -> tuple[Run, ImageDataset] | None:
    """(require_vae(), its dataset_of), or None when either is missing (the page says why)."""
    run = require_vae()
    dataset = None if run is None else dataset_of(run, warn_stand_in)
    return None if dataset is None else (run, dataset)
