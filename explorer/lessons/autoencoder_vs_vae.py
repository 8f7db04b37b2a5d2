"""Lesson 1: an AE's 2-D map has gaps that decode to junk; a VAE's prior fills them."""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.figures.latent import with_highlight_at
from explorer.figures.lessons import CHOSEN_POINT_NAME
from explorer.lessons.models import all_run_infos, dataset_of
from explorer.views.lessons import GRID_POINTS, clickable_latent_map, decoded_and_distance, pixel_pca_map
from vae_core.runs.matching import two_d_pair

TITLE = "1. Autoencoder vs VAE"


def _panel(label: str, run, dataset) -> None:
    figure_json, xs, ys = clickable_latent_map(run, dataset, label)
    key_x, key_y, key_seen = f"l1_{label}_z1", f"l1_{label}_z2", f"l1_{label}_seen"
    # Start in a gap: the middle of the map, where an AE usually has no codes.
    st.session_state.setdefault(key_x, round(float(xs[GRID_POINTS // 2]), 2))
    st.session_state.setdefault(key_y, round(float(ys[GRID_POINTS // 2]), 2))
    chosen = (st.session_state[key_x], st.session_state[key_y])
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
    picture, distance = decoded_and_distance(run, dataset, float(z1), float(z2))
    st.image(picture, caption=f"decoded at ({z1:.2f}, {z2:.2f}): distance {distance:.2f} to the nearest training image")


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
    except ValueError as e:
        st.error(str(e))
        return
    dataset = dataset_of(vae_run)
    if dataset is None:
        return
    st.markdown(
        "**Click anywhere on a map** (or type z₁, z₂) to decode that point. Try the empty space between "
        "clusters: the AE's gaps decode to blurs that look like no digit (far from every training image); "
        "the VAE's decode to plausible in-between digits."
    )
    ae_col, vae_col, pca_col = st.columns(3)
    with ae_col:
        _panel("AE", ae_run, dataset)
    with vae_col:
        _panel("VAE", vae_run, dataset)
    with pca_col:
        st.plotly_chart(pixel_pca_map(dataset), key="l1_pca_map")
        st.caption(
            "The best linear 2-D view of the raw pixels. Both autoencoders should separate the classes better; "
            "PCA has a 'decoder' too (the two components), but it is linear and blurry everywhere."
        )
    st.caption("Distances are pixel L2 norms ‖x − x_train‖ over images in [0, 1]: large means nothing like the data.")
