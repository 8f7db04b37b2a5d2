"""Lesson 1: an AE's 2-D map has gaps that decode to junk; a VAE's prior fills them."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import state
from explorer.figures.images import scale_for_width, upscale_nearest
from explorer.figures.latent import latent_scatter, with_highlight_at
from explorer.figures.lessons import CHOSEN_POINT_NAME, clickable_map
from explorer.lessons.models import all_run_infos
from vae_core.runs.matching import two_d_pair
from vae_core.analysis import nearest_training_image
from vae_core.analysis.lessons import pixel_pca_2d

TITLE = "1. Autoencoder vs VAE"
GRID_POINTS = 25


@st.cache_resource(max_entries=4, show_spinner="Projecting the pixels…")
def _pixel_pca(_x, key: str) -> np.ndarray:
    # _x is not hashed; key names the dataset and split.
    return pixel_pca_2d(_x)


def _grid(points: np.ndarray, include_prior: bool) -> tuple[np.ndarray, np.ndarray]:
    """Click targets spanning the map with a margin (and ±3, the prior's bulk, for a VAE)."""
    lo, hi = points.min(0), points.max(0)
    margin = 0.1 * (hi - lo) + 1e-6
    lo, hi = lo - margin, hi + margin
    if include_prior:
        lo, hi = np.minimum(lo, -3.0), np.maximum(hi, 3.0)
    return np.linspace(lo[0], hi[0], GRID_POINTS), np.linspace(lo[1], hi[1], GRID_POINTS)


def _panel(label: str, run, mu, labels, class_names, train_x) -> None:
    points = mu.numpy()
    xs, ys = _grid(points, include_prior=run.model.is_variational)
    key_x, key_y, key_seen = f"l1_{label}_z1", f"l1_{label}_z2", f"l1_{label}_seen"
    # Start in a gap: the middle of the map, where an AE usually has no codes.
    st.session_state.setdefault(key_x, round(float(xs[GRID_POINTS // 2]), 2))
    st.session_state.setdefault(key_y, round(float(ys[GRID_POINTS // 2]), 2))
    chosen = (st.session_state[key_x], st.session_state[key_y])
    figure_json = _clickable_map(points, labels, class_names, f"{state.run_key(run)}|{label}", xs, ys, f"{label}: {run.name}")
    event = st.plotly_chart(
        with_highlight_at(figure_json, chosen, name=CHOSEN_POINT_NAME), on_select="rerun", selection_mode="points",
        key=f"l1_{label}_map",
    )  # fmt: skip
    clicked = event.selection.points if event and event.selection else []
    if clicked:
        point = (round(float(clicked[0]["x"]), 2), round(float(clicked[0]["y"]), 2))
        # The selection stays in the widget's state; apply each new click once, so typed values stick.
        if st.session_state.get(key_seen) != point:
            st.session_state[key_seen] = point
            st.session_state[key_x], st.session_state[key_y] = point
            st.rerun()
    a, b = st.columns(2)
    z1 = a.number_input("z₁", step=0.25, format="%.2f", key=key_x)
    z2 = b.number_input("z₂", step=0.25, format="%.2f", key=key_y)
    picture, distance = _decoded_and_distance(run, train_x, state.run_key(run), float(z1), float(z2))
    st.image(picture, caption=f"decoded at ({z1:.2f}, {z2:.2f}): distance {distance:.2f} to the nearest training image")


# Shared by every session (read-only): a class opens this lesson on the same maps and the same points.
@st.cache_resource(max_entries=8, show_spinner=False)
def _clickable_map(_points, _labels, _class_names, key: str, xs: np.ndarray, ys: np.ndarray, title: str) -> dict:
    """One model's clickable map with its ring at (0, 0), as plotly JSON for with_highlight_at."""
    fig = clickable_map(_points, _labels, _class_names, xs, ys, chosen=(0.0, 0.0), title=title)
    return fig.to_plotly_json()


@st.cache_resource(max_entries=256, show_spinner=False)
def _decoded_and_distance(_run, _train_x, key: str, z1: float, z2: float) -> tuple[np.ndarray, float]:
    """(the decoding of (z1, z2), blown up for the page; its pixel distance to the nearest training image)."""
    image = state.decode_point(_run, [z1, z2])
    _, distance = nearest_training_image(image, _train_x)
    return upscale_nearest(image, scale_for_width(image.shape[-1], 140)), float(distance[0])


@st.cache_resource(max_entries=4, show_spinner=False)
def _pixel_pca_map(_points, _labels, _class_names, key: str):
    fig = latent_scatter(_points, _labels, _class_names, axis_titles=("PC 1 of the pixels", "PC 2 of the pixels"),
                         marker_size=4)
    fig.update_layout(title="PCA of the pixels (no training)", height=420, uirevision="l1-pca")
    return fig


def render() -> None:
    st.markdown(
        "An **autoencoder** maps each image to one point z and learns to decode those points. A **VAE** maps "
        "each image to a distribution q(z|x) and pays a KL price for moving it away from the prior N(0, I). "
        "So the VAE's codes overlap and fill the space near the origin, and every point there decodes to "
        "something like a digit. The AE's codes can sit anywhere: between clusters there may be nothing it was "
        "trained to decode."
    )
    # The lecture names the encoder mean g and the decoder f: q(z|x) = N(g(x), diag h(x)), p(x|z) from f(z).
    st.latex(r"\text{AE:}\quad \min\; \| x - f(g(x)) \|^2 \;\text{ or }\; -\log p(x \mid z = g(x))")
    st.latex(r"\text{VAE:}\quad \min\; \mathbb{E}_{q(z|x)}[-\log p(x|z)] + \mathrm{KL}\big(q(z|x)\,\|\,\mathcal{N}(0, I)\big)")
    pair = two_d_pair(all_run_infos(), prefer=state.selected_model_path())
    if pair is None:
        st.info(
            "This lesson needs a 2-D VAE and a 2-D AE of the same architecture (e.g. the shipped "
            "vae-mlp-2d-mnist5k and ae-mlp-2d-mnist5k). Train both on the **Train** page with latent dimension 2, "
            "once as VAE and once as AE, and come back."
        )
        return
    try:
        vae_run, ae_run = (state.load_selected_run(info.path) for info in pair)
        dataset, note = state.dataset_for(vae_run)
    except ValueError as e:
        st.error(str(e))
        return
    if note:
        st.warning(note)
    labels, class_names = dataset.test_y, dataset.class_names
    st.markdown(
        "**Click anywhere on a map** (or type z₁, z₂) to decode that point. Try the empty space between "
        "clusters: the AE's gaps decode to blurs that look like no digit (far from every training image); "
        "the VAE's decode to plausible in-between digits."
    )
    ae_col, vae_col, pca_col = st.columns(3)
    with ae_col:
        _panel("AE", ae_run, state.cached_encoding(ae_run, "test")[0], labels, class_names, dataset.train_x)
    with vae_col:
        _panel("VAE", vae_run, state.cached_encoding(vae_run, "test")[0], labels, class_names, dataset.train_x)
    with pca_col:
        key = f"{dataset.spec}/test"
        st.plotly_chart(_pixel_pca_map(_pixel_pca(dataset.test_x, key), labels, class_names, key), key="l1_pca_map")
        st.caption(
            "The best linear 2-D view of the raw pixels. Both autoencoders should separate the classes better; "
            "PCA has a 'decoder' too (the two components), but it is linear and blurry everywhere."
        )
    st.caption("Distances are pixel L2 norms ‖x − x_train‖ over images in [0, 1]: large means nothing like the data.")
