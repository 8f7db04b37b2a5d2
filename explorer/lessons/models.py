"""Which models a lesson uses: the selected one when it fits, else the best match among all runs."""
from __future__ import annotations

import streamlit as st

from explorer import state
from vae_core.runs.matching import RunInfo, run_infos
from vae_core.runs.checkpoint import Run


def all_run_infos() -> list[RunInfo]:
    return run_infos(state.model_choices())


def a_vae() -> Run | None:
    """The selected run if it is a VAE, else the first loadable VAE (2-D ones first); None when there is none.

    The lessons follow the unconditional VAE of the lecture, so a conditional VAE hands over to a plain one."""
    try:
        run = state.current_run()
        if run.model_config.kind == "vae":
            return run
    except ValueError:
        pass
    vaes = sorted((i for i in all_run_infos() if i.model["kind"] == "vae"), key=lambda i: (i.model["latent_dim"] != 2, i.name))
    for info in vaes:
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
