"""Continue a saved run of the runs folder (one stopped, or to train it longer), with its optimizer state."""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.server.training_jobs import epochs_trained, format_epochs
from explorer.widgets.your_jobs import VIEWED_KEY
from vae_core.runs.checkpoint import read_run_metrics
from vae_core.runs.registry import list_runs

CONTINUE_RUN_KEY = "train_continue_run"
CONTINUE_EPOCHS_KEY = "train_continue_epochs"
CONTINUE_ERROR_KEY = "train_continue_error"


def trained_epochs(path: str) -> float | None:
    """Epochs a saved run has trained, or None when its metrics cannot be read."""
    try:
        return epochs_trained(read_run_metrics(path))
    except ValueError:
        return None


def on_continue(owner: str) -> None:
    path, epochs = st.session_state.get(CONTINUE_RUN_KEY), st.session_state.get(CONTINUE_EPOCHS_KEY)
    try:
        job_id = state.job_manager().submit_resume(path, int(epochs), owner=owner)
    except (ValueError, TypeError) as e:
        st.session_state[CONTINUE_ERROR_KEY] = str(e)
        return
    st.session_state.pop(CONTINUE_ERROR_KEY, None)
    st.session_state[VIEWED_KEY] = job_id


def continue_form(owner: str) -> None:
    """The expander: pick a run, the epoch to train up to, and press Continue training (a job for `owner`)."""
    runs_root = state.job_manager().runs_root
    runs = [r for r in list_runs(runs_root) if r.error is None]
    with st.expander("Continue a saved run", expanded=bool(st.session_state.get(CONTINUE_ERROR_KEY))):
        if not runs:
            st.caption(f"No run in the runs folder ({runs_root}) yet. A run trained here, or stopped, "
                       "can be continued from where it ended.")
            return
        paths = [str(r.path) for r in runs]
        labels = {str(r.path): r.label for r in runs}
        if st.session_state.get(CONTINUE_RUN_KEY) not in paths:
            st.session_state[CONTINUE_RUN_KEY] = paths[0]
        left, right = st.columns([3, 1])
        chosen = left.selectbox("Run", paths, format_func=labels.get, key=CONTINUE_RUN_KEY)
        done = trained_epochs(chosen)
        right.number_input("Train up to epoch", min_value=1, max_value=100_000, step=1, key=CONTINUE_EPOCHS_KEY,
                           value=int(done) + 5 if done is not None else 10)
        st.caption(("It has trained " + (f"{format_epochs(done)} epochs" if done is not None else "an unknown number of epochs"))
                   + ". Training goes on with the optimizer's saved state, and the curves join the saved ones; "
                   "the run is saved in place when the job ends or is stopped.")
        st.button("Continue training", on_click=on_continue, args=(owner,), key="train_continue")
        if st.session_state.get(CONTINUE_ERROR_KEY):
            st.error(st.session_state[CONTINUE_ERROR_KEY])
