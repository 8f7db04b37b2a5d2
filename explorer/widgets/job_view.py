"""One training job on the Train page: its state, its latest numbers, its curves and the latent map's replay.

While a job is going, explorer/widgets/your_jobs.py redraws it every second.
"""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.figures.latent import kl_per_dim_bar
from explorer.figures.training import snapshot_figure, training_curves
from explorer.server.training_jobs import JobView, format_epochs, format_eta, ordinal


def eta_text(view: JobView) -> str:
    """'9.2 of 20 epochs · about 1 min 20 s left'."""
    parts = [f"{format_epochs(view.epochs_done)} of {view.train_config.epochs} epochs"]
    if view.eta_s is not None:
        parts.append(format_eta(view.eta_s))
    return " · ".join(parts)


def job_status(view: JobView) -> None:
    if view.state == "queued":
        cap = state.job_manager().max_running
        st.info(f"Waiting: {ordinal(view.queue_position)} in line. At most {cap} job{'s' if cap != 1 else ''} "
                f"train{'s' if cap == 1 else ''} at once on this server; yours starts when one ends.")
    elif view.state in ("starting", "running"):
        st.progress(view.progress, text=eta_text(view))
        st.caption(view.message)
    elif view.state == "finished":
        st.success(f"Finished: {view.message}. Saved as {view.name!r}.")
    elif view.state in ("stopped", "time_limit"):
        st.warning(f"Stopped: {view.message}. The run so far is saved as {view.name!r}.")
    elif view.state == "diverged":
        st.error(f"Training diverged. {view.message} The run is saved as {view.name!r} with those weights.")
    elif view.state == "failed":
        st.error(view.message)
    else:
        st.info(view.message)


def latest_numbers(view: JobView) -> None:
    last_step = view.steps[-1] if view.steps else None
    last_test = next((r for r in reversed(view.history) if r.get("test")), None)
    cols = st.columns(4)
    variational = view.model_config.is_variational
    key = "neg_elbo" if variational else "recon"
    if last_step:
        label = "train −ELBO, last batch" if variational else "train reconstruction, last batch"
        cols[0].metric(label, f"{last_step['train'][key]:.2f}", help="nats per image, lower is better")
        cols[2].metric("samples per second", f"{last_step['samples_per_s']:.0f}")
    if last_test:
        label = "test −ELBO" if variational else "test reconstruction"
        cols[1].metric(label, f"{last_test['test'][key]:.2f}", help=f"nats per image after epoch {format_epochs(last_test['epoch'])}, lower is better")
        if variational:
            cols[3].metric("active units", f"{last_test['active_units']} of {view.model_config.latent_dim}")


def snapshot_view(view: JobView) -> None:
    if not view.snapshots or view.labels is None:
        return
    epochs = [s.epoch for s in view.snapshots]
    key = f"train_snapshot_{view.id}"
    follow = st.checkbox("Follow the newest epoch", value=True, key=f"train_follow_{view.id}")
    if follow or st.session_state.get(key) not in epochs:
        st.session_state[key] = epochs[-1]
    if len(epochs) > 1:
        st.select_slider("Replay the latent map: epoch", options=epochs, key=key, format_func=format_epochs,
                         disabled=follow)
    chosen = view.snapshots[epochs.index(st.session_state[key])]
    fig = snapshot_figure(chosen.points, view.labels, view.class_names, chosen.epoch, chosen.axis_titles,
                          view.model_config.latent_dim)
    st.plotly_chart(fig, key=f"train_snapshot_chart_{view.id}")
    if chosen.method == "pca":
        st.caption(f"d = {view.model_config.latent_dim}: the codes are shown on their two leading principal components.")


def select_run(path: str) -> None:
    st.session_state[state.MODEL_PATH_KEY] = path


def _buttons(view: JobView, owner: str) -> None:
    if not view.done:
        st.button("Stop", key=f"train_stop_{view.id}", on_click=state.job_manager().stop, args=(view.id, owner),
                  help="Stops after the current step and saves the run so far.")
    elif view.saved:
        active = st.session_state.get(state.MODEL_PATH_KEY) == str(view.run_dir)
        st.button("Use this run on every page" if not active else "This run is selected", key=f"train_select_{view.id}",
                  on_click=select_run, args=(str(view.run_dir),), disabled=active, type="primary")


def job_view(job_id: str, owner: str) -> None:
    """Everything about one job of `owner` (the browser's token, which may stop it)."""
    view = state.job_manager().view(job_id)
    if view is None:
        st.info("This job is no longer known to the server (it was restarted). Its run, if saved, is in the sidebar.")
        return
    st.subheader(f"Job {view.name!r}")
    job_status(view)
    _buttons(view, owner)
    if not view.steps:
        return
    latest_numbers(view)
    variational = view.model_config.is_variational
    st.plotly_chart(training_curves(view.steps, view.history, variational), key=f"train_curves_{view.id}")
    curves, snapshot = st.columns(2)
    with curves:
        if variational:
            st.markdown("**KL per latent dimension** (latest batch, nats per image)")
            st.plotly_chart(kl_per_dim_bar(view.steps[-1]["kl_per_dim"]), key=f"train_kl_{view.id}")
            st.caption("A dimension with KL near 0 is unused: q(z_u|x) equals the prior whatever the image.")
        else:
            st.caption("An AE has no KL: its loss is the reconstruction term alone.")
    with snapshot:
        snapshot_view(view)
