"""The Train page's list of this browser's jobs: a picker when there are several, then the job picked.

Jobs belong to the browser that started them (its token, explorer/components/browser_token.py), not to the
Streamlit session, so a reload or a new tab finds them again. While any of them is active, the section is a
fragment that reruns every second, so the picker's states are the jobs' states now, not when it was drawn.
"""
from __future__ import annotations

import time

import streamlit as st

from explorer import state
from explorer.server.training_jobs import JobView, format_epochs
from explorer.widgets.job_view import job_view

VIEWED_KEY = "train_viewed_job"  # the job shown; kept while another page is shown (the picker's key is not)
PICKER_KEY = "train_job_picker"


def job_label(view: JobView) -> str:
    """'vae-mlp-2d-digits · running, 9.2 of 20 epochs' for the picker."""
    if view.state == "running":
        return f"{view.name} · running, {format_epochs(view.epochs_done)} of {view.train_config.epochs} epochs"
    if view.state == "queued" and view.queue_position is not None:
        return f"{view.name} · waiting, {view.queue_position} in line"
    return f"{view.name} · {view.state}"


def _remember_pick() -> None:
    st.session_state[VIEWED_KEY] = st.session_state[PICKER_KEY]


def _section(owner: str) -> None:
    manager = state.job_manager()
    views = {j: v for j in manager.job_ids(owner=owner) if (v := manager.view(j)) is not None}
    if not views:
        return
    job_ids = list(views)
    if st.session_state.get(VIEWED_KEY) not in views:
        st.session_state[VIEWED_KEY] = job_ids[-1]
    if len(job_ids) > 1:
        st.session_state[PICKER_KEY] = st.session_state[VIEWED_KEY]
        st.selectbox("Your jobs (this browser's)", job_ids, key=PICKER_KEY, format_func=lambda j: job_label(views[j]),
                     on_change=_remember_pick)
    job_view(st.session_state[VIEWED_KEY], owner)
    # When a job ends, one full rerun draws the page without the timer and refreshes the sidebar's run list.
    ended = [j for j, v in views.items() if v.done and st.session_state.get(f"train_done_seen_{j}") is None]
    for job_id in ended:
        st.session_state[f"train_done_seen_{job_id}"] = time.time()
    if ended and st.session_state.get("train_jobs_live"):
        st.rerun()


@st.fragment(run_every=1.0)
def _live_section(owner: str) -> None:
    _section(owner)


def your_jobs(owner: str) -> None:
    """This browser's jobs; live (every second) while one of them is queued or training."""
    manager = state.job_manager()
    live = any(v is not None and not v.done for v in map(manager.view, manager.job_ids(owner=owner)))
    st.session_state["train_jobs_live"] = live
    if manager.job_ids(owner=owner):
        st.divider()
    if live:
        _live_section(owner)
    else:
        _section(owner)
