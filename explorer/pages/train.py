"""Train: a form that starts a background training job, and a live view of the job that refreshes every second."""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.server.training_jobs import DONE_STATES
from explorer.sidebar import render_sidebar
from explorer.widgets.continue_form import continue_form
from explorer.widgets.job_view import job_view, live_job
from explorer.widgets.train_form import ERRORS_KEY, JOB_IDS_KEY, VIEWED_KEY, training_form

HELP = """
Fill in the form and press **Start training**. Training runs in the background on the server: you can
switch pages and come back. The curves show **−ELBO** (lower is better) and its two terms,
**reconstruction −log p(x|z)** and **KL(q(z|x) ‖ p(z))**, in nats per image, for the training batches
(faint, per step) and per epoch for train and test. The latent map replays how the test images' codes
spread out epoch by epoch. When the job ends, or when you press Stop, the run is saved and can be
picked in the sidebar on every page. **Continue a saved run** trains a run of the runs folder further
(one you stopped, or one that needs more epochs) from where it ended, with its optimizer's state.
"""


def _your_jobs(manager) -> None:
    """This session's jobs: a picker when there are several, then the one picked (live while it trains)."""
    job_ids = [j for j in st.session_state.get(JOB_IDS_KEY, []) if manager.view(j) is not None]
    if not job_ids:
        return
    st.divider()
    views = {j: manager.view(j) for j in job_ids}
    if len(job_ids) > 1:
        if st.session_state.get(VIEWED_KEY) not in job_ids:
            st.session_state[VIEWED_KEY] = job_ids[-1]
        st.selectbox("Your jobs", job_ids, key=VIEWED_KEY, format_func=lambda j: f"{views[j].name} · {views[j].state}")
    viewed = st.session_state.get(VIEWED_KEY) if st.session_state.get(VIEWED_KEY) in job_ids else job_ids[-1]
    if views[viewed].done:
        job_view(viewed)
    else:
        live_job(viewed)


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
    training_form()
    if st.session_state.get(ERRORS_KEY):
        st.error("Some values were refused; see the messages under the fields above.")
    continue_form()
    _your_jobs(manager)
    _server_load(manager)


main()
