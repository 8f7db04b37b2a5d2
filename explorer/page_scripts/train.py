"""Train: a form that starts a background training job, and a live view of the job that refreshes every second."""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.components.browser_token import browser_token
from explorer.server.training_jobs import DONE_STATES
from explorer.sidebar import render_sidebar
from explorer.widgets.continue_form import continue_form
from explorer.widgets.train_form import training_form
from explorer.widgets.your_jobs import your_jobs

HELP = """
Fill in the settings and press **Start training** (Enter in a field starts nothing). Training runs in the
background on the server: you can switch pages, reload or open a new tab and come back; this browser can stop
its jobs, other browsers cannot. The curves show **−ELBO** (lower is better) and its two terms,
**reconstruction −log p(x|z)** and **KL(q(z|x) ‖ p(z))**, in nats per image, for the training batches
(faint, per step) and per epoch for train and test. The latent map replays how the test images' codes
spread out epoch by epoch. When the job ends, or when you press Stop, the run is saved and can be
picked in the sidebar on every page. **Continue a saved run** trains a run of the runs folder further
(one you stopped, or one that needs more epochs) from where it ended, with its optimizer's state.
"""


def _server_load(manager) -> None:
    all_views = [v for v in (manager.view(j) for j in manager.job_ids()) if v is not None]
    running = sum(v.state in ("starting", "running") for v in all_views)
    waiting = sum(v.state == "queued" for v in all_views)
    st.caption(f"On this server: {running} training, {waiting} waiting; at most {manager.max_running} train at once "
               f"(set VAE_MAX_TRAINING_JOBS to change). Finished states: {', '.join(DONE_STATES)}.")


def main() -> None:
    render_sidebar(HELP)
    st.title("Train")
    try:
        manager = state.job_manager()
    except ValueError as e:
        st.error(f"Training is unavailable: {e}")
        return
    owner = browser_token()
    training_form(owner)
    continue_form(owner)
    your_jobs(owner)
    _server_load(manager)


main()
