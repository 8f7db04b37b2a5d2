"""Lesson 5: the Gaussian decoder variance c trades sharp reconstructions against a usable prior."""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.components.browser_token import browser_token
from explorer.figures.images import image_strip, scale_for_width
from explorer.figures.latent import latent_scatter
from explorer.figures.lessons import decoder_variance_figure
from explorer.lessons.models import all_run_infos
from explorer.server.training_jobs import DONE_STATES
from vae_core.analysis import map_projection, prior_samples, reconstruct
from vae_core.models import ModelConfig
from vae_core.runs.matching import gaussian_families
from vae_core.runs.names import unique_run_name
from vae_core.training.config import TrainConfig

TITLE = "5. The decoder variance c"
RETRAIN_CS = (0.01, 0.1, 1.0)
RETRAIN_DATASET = "digits"
RETRAIN_EPOCHS = 15
N_IMAGES = 6
JOBS_KEY = "l5_job_ids"


def _start_retrain(owner: str) -> None:
    manager = state.job_manager()
    ids = []
    st.session_state.pop("l5_error", None)
    try:
        for c in RETRAIN_CS:
            name = unique_run_name(state.runs_dir(), f"vae-mlp-2d-{RETRAIN_DATASET}-gauss-c{c:g}")
            config = ModelConfig(latent_dim=2, hidden_sizes=(128,), likelihood="gaussian", c=c)
            recipe = TrainConfig(epochs=RETRAIN_EPOCHS, batch_size=64, seed=0)
            ids.append(manager.submit(config, recipe, RETRAIN_DATASET, name, owner=owner))
    except ValueError as e:  # e.g. another user took the same name a moment ago
        st.session_state["l5_error"] = f"Could not start the training: {e}"
    st.session_state[JOBS_KEY] = ids


@st.fragment(run_every=1.0)
def _retrain_progress() -> None:
    views = [v for v in (state.job_manager().view(j) for j in st.session_state.get(JOBS_KEY, [])) if v is not None]
    for view in views:
        if view.state == "queued":
            st.caption(f"{view.name}: waiting, {view.queue_position} in line")
        elif view.state in DONE_STATES:
            st.caption(f"{view.name}: {view.state} ({view.message})")
        else:
            st.progress(view.progress, text=f"{view.name}: epoch {view.epochs_done:.1f} of {view.train_config.epochs}")
    if views and all(v.done for v in views):
        st.session_state.pop(JOBS_KEY)
        st.rerun()  # the new runs now join the comparison below


def _retrain_offer() -> None:
    with st.expander("Train a small family now (2-D VAEs on digits at c = 0.01, 0.1 and 1; about a minute)"):
        st.caption("They train in the background as this browser's jobs on the **Train** page (where they can be "
                   "stopped) and appear in the sidebar when done.")
        if st.session_state.get("l5_error"):
            st.error(st.session_state["l5_error"])
        if st.session_state.get(JOBS_KEY):
            _retrain_progress()
        else:
            st.button("Train them", on_click=_start_retrain, args=(browser_token(),), key="l5_retrain")


def _column(info) -> dict | None:
    """Show one model of the family; returns its last test numbers for the trade-off plot."""
    try:
        run = state.load_selected_run(info.path)
        dataset, _ = state.dataset_for(run)
    except ValueError as e:
        st.error(f"{info.name}: {e}")
        return None
    st.markdown(f"**c = {info.model['c']:g}**  \n`{info.name}`")
    x = dataset.test_x[:N_IMAGES]
    scale = scale_for_width(x.shape[-1], 40)
    st.image(image_strip(x, scale=scale, n_cols=3), caption="inputs")
    st.image(image_strip(reconstruct(run.model, x), scale=scale, n_cols=3), caption="reconstructions x̂ (z = μ)")
    st.image(image_strip(prior_samples(run.model, N_IMAGES, seed=0), scale=scale, n_cols=3),
             caption="samples: decode z ~ N(0, I)")
    mu, _ = state.cached_encoding(run, "test")
    fig = latent_scatter(map_projection(mu)(mu), dataset.test_y, dataset.class_names, marker_size=3)
    fig.update_layout(height=280, showlegend=False, title="test codes μ", uirevision=f"l5-{info.name}")
    st.plotly_chart(fig, key=f"l5_map_{info.name}")
    history = run.metrics.get("history") or []
    test = history[-1].get("test") if history else None
    return {"c": info.model["c"], **test} if test else None


def render() -> None:
    st.markdown(
        "With a Gaussian decoder p(x|z) = N(f(z), c·I), the reconstruction term is a squared error divided by 2c. "
        "So c sets the exchange rate between reconstruction and KL, like 1/β. **Small c**: every pixel error is "
        "expensive, the encoder spends nats on precise codes, reconstructions are sharp, but q(z|x) strays from "
        "the prior, so samples from N(0, I) land where the decoder was never trained. **Large c**: the KL wins, "
        "codes huddle at the prior, reconstructions blur towards the mean image, and samples look like blurry reconstructions."
    )
    st.latex(r"-\log p(x|z) = \frac{\|x - f(z)\|^2}{2c} + \frac{D}{2}\log(2\pi c)")
    families = gaussian_families(all_run_infos())
    _retrain_offer()
    if not families:
        st.info(
            "No Gaussian-decoder VAEs found yet (names like vae-mlp-2d-mnist5k-gauss-c0.1). Train a small family "
            "above, or on the **Train** page with likelihood 'gaussian' and several values of c."
        )
        return
    keys = sorted(families, key=lambda k: (-len(families[k]), k))
    key = st.selectbox("Model family (same data and architecture, different c)", keys, key="l5_family",
                       format_func=lambda k: f"{k} · {len(families[k])} model(s)")
    members = families[key]
    numbers = []
    for column, info in zip(st.columns(len(members)), members):
        with column:
            row = _column(info)
            if row:
                numbers.append(row)
    if len(numbers) >= 2:
        st.plotly_chart(
            decoder_variance_figure([r["c"] for r in numbers], [r["recon"] for r in numbers], [r["kl"] for r in numbers]),
            key="l5_tradeoff",
        )  # fmt: skip
        st.caption(
            "Test-set reconstruction term and KL, nats per image, at the end of training. The reconstruction term "
            "includes the constant (D/2)·log(2πc), so compare the pictures above, not its raw size, across c."
        )
    elif len(members) == 1:
        st.caption("Only one value of c in this family; train more (above) to compare.")
