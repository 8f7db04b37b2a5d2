"""Explore (home): one slider per latent dimension and the decoder's image, traversals, interpolations.

The sliders and the image are the latent panel (explorer/widgets/latent_panel.py); this page adds the
buttons that set z, the traversal grid and the interpolation between two test images.
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.figures import scale_for_width, upscale_nearest
from explorer.sidebar import render_sidebar
from explorer.views.explore import interpolation_view, traversal_figure
from explorer.widgets import cvae_panel, latent_panel, where_z_sits
from explorer.widgets.latent_panel import MAX_SLIDERS, NOTE_KEY, SLIDER_LIMIT, Z_KEY, set_z

HELP = """
**Sliders** set a latent vector z, one slider per dimension, in units of the prior's standard
deviation: z ~ N(0, I), so ±3 covers 99.7% of the prior along each axis. The picture is the
decoder's mean E[x | z], blown up without smoothing so each pixel stays visible.

While you drag, the picture follows: a small decoder (an MLP) runs right in your browser, a
convolutional one runs on the server. Releasing a slider updates the rest of the page.

**Sample from the prior** draws z ~ N(0, I); **Start from a real image** encodes a test image and
puts the sliders at its posterior mean μ(x); **Reset** returns to z = 0, the prior's centre.

**Traversal grid:** each row changes one dimension from −3 to 3 while the others stay put, showing
what that dimension encodes. **Interpolation** walks from one image's μ to another's, in a straight
line or along a great circle (spherical), which keeps the path where the prior has its mass.
"""

FOR_RUN_KEY = "explore_for_run"
# Widgets whose options depend on the model; forgotten when the model changes, so no stale value is out of range.
MODEL_DEPENDENT_KEYS = ("explore_slider_dims", "explore_pick_index", "explore_pick_class", "explore_start_index",
                        "explore_interp_a", "explore_interp_b")  # fmt: skip


def _sample_prior(d: int) -> None:
    set_z(np.random.default_rng().standard_normal(d))
    st.session_state[NOTE_KEY] = "z drawn from the prior N(0, I)."


def _reset(d: int) -> None:
    set_z(np.zeros(d))
    st.session_state[NOTE_KEY] = "z = 0, the centre of the prior."


def _start_from_image(mu: torch.Tensor, labels: torch.Tensor, class_names: list[str]) -> None:
    n = mu.shape[0]
    if st.session_state.get("explore_pick_mode") == "by class":
        label = class_names.index(st.session_state["explore_pick_class"])
        members = (labels == label).nonzero().reshape(-1).tolist()
        index = members[np.random.default_rng().integers(len(members))] if members else 0
    else:
        index = int(st.session_state.get("explore_pick_index", 0)) % max(1, n)
    st.session_state["explore_start_index"] = index
    cvae_panel.follow_class(int(labels[index]))  # a cvae then decodes μ(x) with x's own label: its reconstruction
    z = mu[index].double().numpy()
    set_z(z)
    clipped = int((np.abs(z) > SLIDER_LIMIT).sum())
    note = f"Sliders at μ(x) of test image #{index} (class {class_names[int(labels[index])]})."
    if clipped:
        note += f" {clipped} coordinate(s) lay beyond ±3 and were clipped to the slider range."
    st.session_state[NOTE_KEY] = note


def _prepare_state(run) -> int:
    """Start from z = 0 whenever the model changes; returns d."""
    d = run.model_config.latent_dim
    key = state.run_key(run)
    if st.session_state.get(FOR_RUN_KEY) != key or len(st.session_state.get(Z_KEY, [])) != d:
        set_z(np.zeros(d))
        st.session_state[FOR_RUN_KEY] = key
        for stale in (NOTE_KEY, *MODEL_DEPENDENT_KEYS):
            st.session_state.pop(stale, None)
    return d


def _buttons(run, d: int, dataset) -> None:
    st.subheader("Set z")
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.button("Sample from prior", on_click=_sample_prior, args=(d,), width="stretch")
    c2.button("Reset to 0", on_click=_reset, args=(d,), width="stretch")
    with c3:
        if dataset is None:
            st.caption("Start from a real image needs the model's dataset, which cannot be loaded here.")
            return
        mu, _ = state.cached_encoding(run, "test")
        n = mu.shape[0]
        mode = st.radio("Pick a test image", ["by index", "by class"], horizontal=True, key="explore_pick_mode")
        if mode == "by index":
            st.number_input(f"test image index (0 to {n - 1})", 0, n - 1, 0, key="explore_pick_index")
        else:
            st.selectbox("class (a random image of it)", dataset.class_names, key="explore_pick_class")
        st.button("Start from a real image", on_click=_start_from_image, args=(mu, dataset.test_y, dataset.class_names),
                  help="Encode the picked test image and put the sliders at its posterior mean μ(x).")  # fmt: skip
        index = st.session_state.get("explore_start_index")
        if index is not None and index < n:
            st.image(upscale_nearest(dataset.test_x[index], scale_for_width(dataset.image_shape[-1], 84)),
                     caption=f"test image #{index}")  # fmt: skip


def _traversal(run, d: int, dims: list[int]) -> None:
    st.subheader("Traversal grid")
    st.caption(
        "Row u: dimension z_u runs from −3 to 3 (prior σ units); every other dimension stays at the "
        "slider values of the last full refresh."
    )
    n_values = st.select_slider("values per row", [5, 7, 9, 11, 13], value=9, key="explore_traversal_values")
    st.button("Refresh with the current sliders", key="explore_traversal_refresh")
    rows = dims or list(range(min(d, MAX_SLIDERS)))
    fig = traversal_figure(run, tuple(st.session_state[Z_KEY]), tuple(rows), n_values, SLIDER_LIMIT,
                           cvae_panel.selected_class(run))  # fmt: skip
    st.plotly_chart(fig, config={"displayModeBar": False}, key="explore_traversal_chart")


def _interpolation(run, dataset) -> None:
    st.subheader("Interpolation between two test images")
    if dataset is None:
        st.info("Interpolation needs the model's dataset, which cannot be loaded here.")
        return
    mu, _ = state.cached_encoding(run, "test")
    n = mu.shape[0]
    c1, c2, c3, c4 = st.columns(4)
    a = c1.number_input(f"image A (0 to {n - 1})", 0, n - 1, 0, key="explore_interp_a")
    b = c2.number_input(f"image B (0 to {n - 1})", 0, n - 1, min(1, n - 1), key="explore_interp_b")
    steps = c3.slider("steps", 2, 16, 10, key="explore_interp_steps")
    method_label = c4.radio("path", ["linear", "spherical (slerp)"], key="explore_interp_method")
    method = "linear" if method_label == "linear" else "slerp"
    endpoints, steps_strip, fig = interpolation_view(run, dataset, a, b, steps, method, cvae_panel.selected_class(run))
    names = dataset.class_names
    class_a, class_b = names[int(dataset.test_y[a])], names[int(dataset.test_y[b])]
    st.image(endpoints, caption=f"A = #{a} (class {class_a}), B = #{b} (class {class_b})")
    st.image(steps_strip, caption=f"decoded steps from μ(A) to μ(B), {method_label}")
    st.plotly_chart(fig, key="explore_interp_map")
    if mu.shape[1] > 2:
        st.caption(f"d = {mu.shape[1]}: the map shows the first two principal components of the test set's μ.")


def _dataset_or_none(run):
    """The run's dataset (a warning when it is a stand-in), or None with a warning when none can be loaded."""
    try:
        dataset, note = state.dataset_for(run)
    except ValueError as e:
        st.warning(str(e), icon=":material/warning:")
        return None
    if note:
        st.warning(note, icon=":material/warning:")
    return dataset


def main() -> None:
    render_sidebar(HELP)
    st.title("Explore the latent space")
    try:
        run = state.current_run()
    except ValueError as e:
        st.error(str(e))
        return
    d = _prepare_state(run)
    try:
        dims = latent_panel.slider_dims(d)
        st.caption(f"{d} latent dimension(s), sliders in prior σ units (z ~ N(0, I), so ±3 covers 99.7% per axis).")
        classic = latent_panel.panel_options(run)
        cvae_panel.class_picker(run)  # a cvae's class y, above the pad that draws it
        # The decoded image comes before anything that needs the dataset, so a cold start shows it soonest.
        panel_area, where_slot = st.container(), st.empty()
        where_z_sits.forget_shown()
        with panel_area:
            (latent_panel.slider_panel if classic else latent_panel.pad_panel)(run, dims, where_slot)
        dataset = _dataset_or_none(run)
        _buttons(run, d, dataset)
        st.divider()
        _traversal(run, d, dims)
        st.divider()
        _interpolation(run, dataset)
    except ValueError as e:
        st.error(str(e))


main()
