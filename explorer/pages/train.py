"""Train: a form that starts a background training job, and a live view of the job that refreshes every second."""
from __future__ import annotations

import time

import streamlit as st

from explorer import state
from explorer.figures.latent import kl_per_dim_bar
from explorer.figures.training import snapshot_figure, training_curves
from explorer.sidebar import render_sidebar
from explorer.server.training_jobs import (
    DONE_STATES,
    JobManager,
    JobView,
    epochs_trained,
    format_eta,
    max_jobs_from_env,
    ordinal,
    server_job_manager,
)
from vae_core.runs.checkpoint import read_run_metrics
from vae_core.data import parse_spec
from vae_core.models import ModelConfig
from vae_core.models.config import ARCHS, LIKELIHOODS, MAX_LATENT_DIM
from vae_core.runs.registry import list_runs
from vae_core.runs.names import sanitize_run_name, unique_run_name
from vae_core.training.config import TrainConfig

HELP = """
Fill in the form and press **Start training**. Training runs in the background on the server: you can
switch pages and come back. The curves show **−ELBO** (lower is better) and its two terms,
**reconstruction −log p(x|z)** and **KL(q(z|x) ‖ p(z))**, in nats per image, for the training batches
(faint, per step) and per epoch for train and test. The latent map replays how the test images' codes
spread out epoch by epoch. When the job ends, or when you press Stop, the run is saved and can be
picked in the sidebar on every page. **Continue a saved run** trains a run of the runs folder further
(one you stopped, or one that needs more epochs) from where it ended, with its optimizer's state.
"""
# Image shapes of the offline and torchvision sets, so the form can check an architecture without loading data.
DATASETS = {
    "mnist5k": (1, 28, 28),
    "digits": (1, 8, 8),
    "shapes": (1, 32, 32),
    "shapes:64": (1, 64, 64),
    "mnist": (1, 28, 28),
    "fashion-mnist": (1, 28, 28),
    "kmnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
}
# Labels a conditional VAE conditions on, per dataset (the form builds its config before loading data).
CLASS_COUNTS = {"shapes": 3, "shapes:64": 3}
DEFAULT_CLASS_COUNT = 10
DOWNLOADED = ("mnist", "fashion-mnist", "kmnist", "cifar10")
JOB_IDS_KEY = "train_job_ids"
ERRORS_KEY = "train_form_errors"
VIEWED_KEY = "train_viewed_job"
CONTINUE_RUN_KEY = "train_continue_run"
CONTINUE_EPOCHS_KEY = "train_continue_epochs"
CONTINUE_ERROR_KEY = "train_continue_error"
# Which form field an error belongs under, by the prefix vae_core's validators give their messages.
FIELD_OF_PREFIX = (
    ("run name", "run_name"),
    ("dataset", "dataset"),
    ("model kind", "kind"),
    ("conv architecture", "arch"),
    ("architecture", "arch"),
    ("conv channels", "layers"),
    ("hidden sizes", "layers"),
    ("latent dimension", "latent_dim"),
    ("likelihood", "likelihood"),
    ("decoder variance c", "c"),
    ("epochs", "epochs"),
    ("batch size", "batch_size"),
    ("learning rate", "lr"),
    ("beta", "beta"),
    ("warm-up epochs", "warmup_epochs"),
    ("seed", "seed"),
)


def field_of(message: str, default: str) -> str:
    lowered = message.lower()
    return next((field for prefix, field in FIELD_OF_PREFIX if lowered.startswith(prefix)), default)


def manager() -> JobManager:
    return server_job_manager(str(state.runs_dir()), max_jobs_from_env())


def parse_layers(text: str, what: str) -> tuple[int, ...]:
    """'512, 256' -> (512, 256); ValueError names the field."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"{what}: expected whole numbers separated by commas, e.g. 512, 256; got {text!r}") from None


def form_value(name: str):
    return st.session_state[f"train_{name}"]


def build_configs() -> tuple[dict[str, str], tuple | None]:
    """({field: message}, (model_config, train_config, dataset_spec, run_name) or None) from the form's values."""
    errors: dict[str, str] = {}
    spec = form_value("dataset")
    try:
        parse_spec(spec)
    except ValueError as e:
        errors["dataset"] = str(e)
    arch = form_value("arch")
    layer_field = "hidden sizes" if arch == "mlp" else "conv channels"
    try:
        layers = parse_layers(form_value("layers"), layer_field)
    except ValueError as e:
        errors["layers"] = str(e)
        layers = None
    model_config = None
    if layers is not None:
        sizes = {"hidden_sizes": layers} if arch == "mlp" else {"conv_channels": layers}
        try:
            kind = form_value("kind").lower()
            model_config = ModelConfig(
                kind=kind, arch=arch, image_shape=DATASETS.get(spec, (1, 28, 28)),
                latent_dim=int(form_value("latent_dim")), likelihood=form_value("likelihood"),
                c=float(form_value("c")), num_classes=CLASS_COUNTS.get(spec, DEFAULT_CLASS_COUNT) if kind == "cvae" else 0,
                **sizes,
            )  # fmt: skip
        except ValueError as e:
            errors.setdefault(field_of(str(e), "arch"), str(e))
    train_config = None
    try:
        train_config = TrainConfig(
            epochs=int(form_value("epochs")), batch_size=int(form_value("batch_size")), lr=float(form_value("lr")),
            beta=float(form_value("beta")), warmup_epochs=float(form_value("warmup_epochs")),
            seed=int(form_value("seed")),
        )  # fmt: skip
    except ValueError as e:
        errors.setdefault(field_of(str(e), "epochs"), str(e))
    try:
        name = sanitize_run_name(form_value("run_name"))
    except ValueError as e:
        errors["run_name"] = str(e)
    if errors:
        return errors, None
    return errors, (model_config, train_config, spec, name)


def on_start() -> None:
    errors, configs = build_configs()
    if configs is not None:
        try:
            job_id = manager().submit(*configs)
        except ValueError as e:
            errors[field_of(str(e), "run_name")] = str(e)
        else:
            st.session_state.setdefault(JOB_IDS_KEY, []).append(job_id)
            st.session_state[VIEWED_KEY] = job_id
            # A fresh suggested name, so pressing Start again does not collide with this run.
            st.session_state["train_run_name"] = suggested_name()
    st.session_state[ERRORS_KEY] = errors


def suggested_name() -> str:
    kind = st.session_state.get("train_kind", "VAE").lower()
    arch = st.session_state.get("train_arch", "mlp")
    d = st.session_state.get("train_latent_dim", 2)
    spec = str(st.session_state.get("train_dataset", "digits")).replace(":", "-")
    base = f"{kind}-{arch}-{d}d-{spec}"
    taken = {v.name for v in (manager().view(i) for i in manager().job_ids()) if v is not None}
    name = unique_run_name(state.runs_dir(), base)
    n = 2
    while name in taken:
        name = unique_run_name(state.runs_dir(), f"{base}-{n}")
        n += 1
    return name


def field_error(name: str) -> None:
    message = st.session_state.get(ERRORS_KEY, {}).get(name)
    if message:
        st.error(message)


def training_form() -> None:
    defaults = {
        "train_dataset": "digits", "train_kind": "VAE", "train_arch": "mlp", "train_layers": "512, 256",
        "train_latent_dim": 2, "train_likelihood": "bernoulli", "train_c": 0.1, "train_beta": 1.0,
        "train_warmup_epochs": 0.0, "train_epochs": 10, "train_batch_size": 128, "train_lr": 1e-3, "train_seed": 0,
    }  # fmt: skip
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)
    if not st.session_state.get("train_run_name"):
        st.session_state["train_run_name"] = suggested_name()
    with st.form("train_form"):
        left, middle, right = st.columns(3)
        with left:
            st.markdown("**Data and model**")
            st.selectbox("Dataset", list(DATASETS), key="train_dataset",
                         help="mnist5k, digits and shapes work offline; the others are downloaded on first use.")
            field_error("dataset")
            st.radio("Model", ["VAE", "AE", "CVAE"], horizontal=True, key="train_kind",
                     help="A VAE learns a distribution q(z|x) with a prior; an AE learns a single point per image; "
                          "a CVAE (conditional VAE) also gives the label y to the encoder and the decoder.")
            field_error("kind")
            st.selectbox("Architecture", ARCHS, key="train_arch",
                         help="conv needs square images of 28, 32 or 64 pixels (not digits' 8×8).")
            field_error("arch")
            st.text_input("Layer sizes (hidden sizes for mlp, channels for conv)", key="train_layers",
                          help="e.g. 512, 256 for mlp or 32, 64 for conv")
            field_error("layers")
            st.number_input("Latent dimension d", min_value=1, max_value=MAX_LATENT_DIM, step=1, key="train_latent_dim")
            field_error("latent_dim")
        with middle:
            st.markdown("**Likelihood and objective**")
            st.selectbox("Likelihood p(x|z)", LIKELIHOODS, key="train_likelihood",
                         help="bernoulli for near-binary images; gaussian N(f(z), c·I) uses the decoder variance c.")
            field_error("likelihood")
            st.number_input("Decoder variance c (Gaussian only)", min_value=0.0, format="%.4g", key="train_c",
                            help="Small c: sharp reconstructions, a weaker prior fit. Large c: blurry, smooth.")
            field_error("c")
            st.number_input("β (weight of the KL term)", min_value=0.0, step=0.1, key="train_beta")
            field_error("beta")
            st.number_input("KL warm-up epochs", min_value=0.0, step=1.0, key="train_warmup_epochs",
                            help="The KL weight rises linearly from 0 to β over this many epochs.")
            field_error("warmup_epochs")
        with right:
            st.markdown("**Optimisation**")
            st.number_input("Epochs", min_value=1, step=1, key="train_epochs")
            field_error("epochs")
            st.number_input("Batch size", min_value=1, step=16, key="train_batch_size")
            field_error("batch_size")
            st.number_input("Learning rate", min_value=0.0, format="%.2e", step=1e-4, key="train_lr")
            field_error("lr")
            st.number_input("Seed", min_value=0, step=1, key="train_seed")
            field_error("seed")
            st.text_input("Run name", key="train_run_name", help="letters, digits, '-', '_' and '.'")
            field_error("run_name")
        st.form_submit_button("Start training", type="primary", on_click=on_start, key="train_start")
    if st.session_state.get("train_dataset") in DOWNLOADED:
        st.caption("This dataset is downloaded on first use; without internet access the job fails and says so.")


def trained_epochs(path: str) -> float | None:
    """Epochs a saved run has trained, or None when its metrics cannot be read."""
    try:
        return epochs_trained(read_run_metrics(path))
    except ValueError:
        return None


def on_continue() -> None:
    path, epochs = st.session_state.get(CONTINUE_RUN_KEY), st.session_state.get(CONTINUE_EPOCHS_KEY)
    try:
        job_id = manager().submit_resume(path, int(epochs))
    except (ValueError, TypeError) as e:
        st.session_state[CONTINUE_ERROR_KEY] = str(e)
        return
    st.session_state.pop(CONTINUE_ERROR_KEY, None)
    st.session_state.setdefault(JOB_IDS_KEY, []).append(job_id)
    st.session_state[VIEWED_KEY] = job_id


def continue_form() -> None:
    """Continue a saved run of the runs folder (one stopped, or to train it longer), with its optimizer state."""
    runs = [r for r in list_runs(manager().runs_root) if r.error is None]
    with st.expander("Continue a saved run", expanded=bool(st.session_state.get(CONTINUE_ERROR_KEY))):
        if not runs:
            st.caption(f"No run in the runs folder ({manager().runs_root}) yet. A run trained here, or stopped, "
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
        st.caption(("It has trained " + (f"{done:g} epochs" if done is not None else "an unknown number of epochs"))
                   + ". Training goes on with the optimizer's saved state, and the curves join the saved ones; "
                   "the run is saved in place when the job ends or is stopped.")
        st.button("Continue training", on_click=on_continue, key="train_continue")
        if st.session_state.get(CONTINUE_ERROR_KEY):
            st.error(st.session_state[CONTINUE_ERROR_KEY])


def eta_text(view: JobView) -> str:
    done, total = view.epochs_done, view.train_config.epochs
    parts = [f"epoch {done:.2f} of {total}"]
    if view.eta_s is not None:
        parts.append(format_eta(view.eta_s))
    return " · ".join(parts)


def job_status(view: JobView) -> None:
    if view.state == "queued":
        cap = manager().max_running
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
    variational = view.model_config.kind != "ae"
    if last_step:
        key = "neg_elbo" if variational else "recon"
        label = "train −ELBO, last batch" if variational else "train reconstruction, last batch"
        cols[0].metric(label, f"{last_step['train'][key]:.2f}", help="nats per image, lower is better")
        cols[2].metric("samples per second", f"{last_step['samples_per_s']:.0f}")
    if last_test:
        key = "neg_elbo" if variational else "recon"
        label = "test −ELBO" if variational else "test reconstruction"
        cols[1].metric(label, f"{last_test['test'][key]:.2f}", help=f"nats per image after epoch {last_test['epoch']:g}, lower is better")
        if variational:
            cols[3].metric("active units", f"{last_test['active_units']} of {view.model_config.latent_dim}")


def snapshot_view(view: JobView) -> None:
    if not view.snapshots or view.labels is None:
        return
    epochs = [s.epoch for s in view.snapshots]
    key = f"train_snapshot_{view.id}"
    follow_key = f"train_follow_{view.id}"
    follow = st.checkbox("Follow the newest epoch", value=True, key=follow_key)
    if follow or st.session_state.get(key) not in epochs:
        st.session_state[key] = epochs[-1]
    if len(epochs) > 1:
        st.select_slider("Replay the latent map: epoch", options=epochs, key=key, format_func=lambda e: f"{e:g}",
                         disabled=follow)
    chosen = view.snapshots[epochs.index(st.session_state[key])]
    fig = snapshot_figure(chosen.points, view.labels, view.class_names, chosen.epoch, chosen.method,
                          view.model_config.latent_dim)
    st.plotly_chart(fig, key=f"train_snapshot_chart_{view.id}")
    if chosen.method == "pca":
        st.caption(f"d = {view.model_config.latent_dim}: the codes are shown on their two leading principal components.")


def select_run(path: str) -> None:
    st.session_state[state.MODEL_PATH_KEY] = path


def job_view(job_id: str) -> None:
    """Everything about one job; rerun every second by the fragment while the job is active."""
    view = manager().view(job_id)
    if view is None:
        st.info("This job is no longer known to the server (it was restarted). Its run, if saved, is in the sidebar.")
        return
    st.subheader(f"Job {view.name!r}")
    job_status(view)
    if not view.done:
        st.button("Stop", key=f"train_stop_{view.id}", on_click=manager().stop, args=(view.id,),
                  help="Stops after the current step and saves the run so far.")
    elif view.saved:
        active = st.session_state.get(state.MODEL_PATH_KEY) == str(view.run_dir)
        st.button("Use this run on every page" if not active else "This run is selected", key=f"train_select_{view.id}",
                  on_click=select_run, args=(str(view.run_dir),), disabled=active, type="primary")
    if not view.steps:
        return
    latest_numbers(view)
    variational = view.model_config.kind != "ae"
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


@st.fragment(run_every=1.0)
def live_job(job_id: str) -> None:
    job_view(job_id)
    view = manager().view(job_id)
    # Once the job ends, one full rerun draws the page without the timer and refreshes the sidebar's run list.
    if view is not None and view.done and st.session_state.get(f"train_done_seen_{job_id}") is None:
        st.session_state[f"train_done_seen_{job_id}"] = time.time()
        st.rerun()


render_sidebar(HELP)
st.title("Train")
try:
    manager()
except ValueError as e:
    st.error(f"Training is unavailable: {e}")
    st.stop()

training_form()
if st.session_state.get(ERRORS_KEY):
    st.error("Some values were refused; see the messages under the fields above.")
continue_form()

job_ids = [j for j in st.session_state.get(JOB_IDS_KEY, []) if manager().view(j) is not None]
if job_ids:
    st.divider()
    views = {j: manager().view(j) for j in job_ids}
    if len(job_ids) > 1:
        if st.session_state.get(VIEWED_KEY) not in job_ids:
            st.session_state[VIEWED_KEY] = job_ids[-1]
        st.selectbox("Your jobs", job_ids, key=VIEWED_KEY,
                     format_func=lambda j: f"{views[j].name} · {views[j].state}")
    viewed = st.session_state.get(VIEWED_KEY) if st.session_state.get(VIEWED_KEY) in job_ids else job_ids[-1]
    if views[viewed].done:
        job_view(viewed)
    else:
        live_job(viewed)

all_views = [v for v in (manager().view(j) for j in manager().job_ids()) if v is not None]
running = sum(v.state in ("starting", "running") for v in all_views)
waiting = sum(v.state == "queued" for v in all_views)
st.caption(f"On this server: {running} training, {waiting} waiting; at most {manager().max_running} train at once "
           f"(set VAE_MAX_TRAINING_JOBS to change). Finished states: {', '.join(DONE_STATES)}.")
