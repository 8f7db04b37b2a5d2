"""Explore (home): one slider per latent dimension and the decoder's image, traversals, interpolations.

The sliders are the live latent pad (explorer/components/latent_pad.py), which redraws while a slider
is dragged; "classic sliders" switches to st.slider, which reports only on release.

Session state: "explore_z" holds the whole latent vector (d floats), mirrored in "z_0", "z_1", … (the
classic sliders' keys); "explore_z_version" counts the times the server moved z (buttons, a new model),
so the pad knows to take it; "explore_decoded" holds the image on screen as uint8 [H, W] or [H, W, 3].
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import cvae_panel, state
from explorer.components import latent_pad
from explorer.figures import (
    image_strip,
    labelled_grid_figure,
    latent_map_figure,
    scale_for_width,
    to_uint8,
    upscale_nearest,
    upscale_pixels,
    with_highlight_at,
)
from explorer.sidebar import render_sidebar
from explorer.server.torch_threads import for_interactive_work
from vae_core import analysis

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

SLIDER_LIMIT = 3.0  # prior σ units
MAX_SLIDERS = 16
Z_KEY = "explore_z"
DECODED_KEY = "explore_decoded"
FOR_RUN_KEY = "explore_for_run"
NOTE_KEY = "explore_note"
Z_VERSION_KEY = "explore_z_version"
CLASSIC_KEY = "explore_classic_sliders"
SERVER_DECODE_KEY = "explore_pad_server_decode"
PAD_KEY = "explore_pad"
PAD_ACK_KEY = "explore_pad_ack"  # the seq of the last z the pad sent that the server holds
HELD_Z_KEY = "explore_held_z"  # the z of the last release (or button): where "Where z sits" puts its marker
WHERE_SHOWN_KEY = "explore_where_shown"  # (run, held z, class) that "Where z sits" shows now; None after a full run
WEIGHTS_SENT_KEY = "explore_pad_weights_sent"  # the run key whose decoder this page already has
# Widgets whose options depend on the model; forgotten when the model changes, so no stale value is out of range.
MODEL_DEPENDENT_KEYS = ("explore_slider_dims", "explore_pick_index", "explore_pick_class", "explore_start_index",
                        "explore_interp_a", "explore_interp_b")  # fmt: skip


def slider_key(dim: int) -> str:
    return f"z_{dim}"


def set_z(z) -> None:
    """Put every slider at z (clipped to ±3); only from callbacks or before the sliders exist."""
    z = np.clip(np.asarray(z, dtype=np.float64).reshape(-1), -SLIDER_LIMIT, SLIDER_LIMIT)
    # Slider values snap to the 0.01 grid, so the stored vector matches what the sliders show.
    values = [round(float(v), 2) for v in z]
    _hold_z(values)
    st.session_state[HELD_Z_KEY] = values
    st.session_state[Z_VERSION_KEY] = st.session_state.get(Z_VERSION_KEY, 0) + 1


def _hold_z(values: list[float]) -> None:
    st.session_state[Z_KEY] = values
    for dim, value in enumerate(values):
        st.session_state[slider_key(dim)] = value


def _on_pad_z() -> None:
    """The pad sent z (while dragging, or final on release): the server holds it from now on."""
    message = st.session_state[PAD_KEY].get("z") or {}
    values = message.get("values")
    if not isinstance(values, list) or len(values) != len(st.session_state.get(Z_KEY, [])):
        return  # a message from the previous model's pad
    _hold_z([round(min(SLIDER_LIMIT, max(-SLIDER_LIMIT, float(v))), 2) for v in values])
    st.session_state[PAD_ACK_KEY] = int(message.get("seq", 0))
    if message.get("final"):
        st.session_state[HELD_Z_KEY] = list(st.session_state[Z_KEY])


def _on_pad_needs_weights() -> None:
    st.session_state.pop(WEIGHTS_SENT_KEY, None)


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


def _slider_dims(d: int) -> list[int]:
    if d <= MAX_SLIDERS:
        return list(range(d))
    chosen = st.multiselect(
        f"Dimensions with a slider (at most {MAX_SLIDERS} of {d}; the others keep their values)",
        list(range(d)),
        default=list(range(MAX_SLIDERS)),
        max_selections=MAX_SLIDERS,
        format_func=lambda i: f"z{i}",
        key="explore_slider_dims",
    )
    return sorted(chosen)


def decode_one(run, z) -> torch.Tensor:
    """The decoder mean E[x|z] for one latent vector, [C, H, W]; a cvae draws the picked class, E[x|z, y]."""
    return state.decode_point(run, z, cvae_panel.selected_class(run))


@st.fragment
def slider_panel(run, dims: list[int], where_slot) -> None:
    """Classic st.slider sliders and the decoded image: a slider release reruns only this part."""
    for_interactive_work()
    z = list(st.session_state[Z_KEY])
    left, right = st.columns([3, 2], gap="large")
    with left:
        columns = st.columns(2) if len(dims) > 4 else [st.container()]
        for n, dim in enumerate(dims):
            key = slider_key(dim)
            if key not in st.session_state:  # a slider shown again after a page switch or a new chooser pick
                st.session_state[key] = z[dim]
            with columns[n % len(columns)]:
                z[dim] = st.slider(f"z{dim}", -SLIDER_LIMIT, SLIDER_LIMIT, step=0.01, key=key, format="%.2f")
        if not dims:
            st.info("Pick at least one dimension above to get sliders.")
    st.session_state[Z_KEY] = z
    image = decode_one(run, z)
    picture = upscale_nearest(image, scale_for_width(image.shape[-1]))
    st.session_state[DECODED_KEY] = picture
    with right:
        st.image(picture, caption="decoder mean E[x | z] at the slider values")
        _captions(run)
    cvae_panel.every_class_row(run, z)
    st.session_state[HELD_Z_KEY] = z  # a classic slider reports only on release
    _where_z_sits_in(where_slot, run, z)


def _captions(run) -> None:
    if st.session_state.get(NOTE_KEY):
        st.caption(st.session_state[NOTE_KEY])
    if not run.model.is_variational:
        st.caption(
            "This is a plain autoencoder: it has no prior, so ±3 is only a convention and z ~ N(0, I) "
            "may land where no code lies; expect blurry or odd images there."
        )


@st.fragment
def pad_panel(run, dims: list[int], where_slot) -> None:
    """The live latent pad: drags redraw in the browser (MLP) or through this fragment (conv decoders)."""
    for_interactive_work()
    key = state.run_key(run)
    decoder = None if st.session_state.get(SERVER_DECODE_KEY) else latent_pad.browser_decoder(run, key)
    z = list(st.session_state[Z_KEY])
    image = decode_one(run, z)
    scale = scale_for_width(image.shape[-1])
    pixels = to_uint8(image)
    st.session_state[DECODED_KEY] = upscale_pixels(pixels, scale)
    data = latent_pad.pad_data(
        model_key=key, mode="browser" if decoder is not None else "server", dims=dims, z=z,
        z_version=st.session_state.get(Z_VERSION_KEY, 0), image_shape=run.model_config.image_shape, scale=scale,
        ack=st.session_state.get(PAD_ACK_KEY, 0),
        # The weights (megabytes) go out once per model and page; the pad asks again if it lost them.
        decoder=decoder if decoder is not None and st.session_state.get(WEIGHTS_SENT_KEY) != key else None,
        image=latent_pad.image_payload(pixels, st.session_state.get(PAD_ACK_KEY, 0)) if decoder is None else None,
    )  # fmt: skip
    if decoder is not None:
        st.session_state[WEIGHTS_SENT_KEY] = key
    latent_pad.latent_pad(data, key=PAD_KEY, on_z_change=_on_pad_z, on_need_weights_change=_on_pad_needs_weights)
    if not dims:
        st.info("Pick at least one dimension above to get sliders.")
    cvae_panel.every_class_row(run, z)
    _captions(run)
    # A release reruns only this fragment, which redraws "Where z sits" in its slot below the panel;
    # drag steps leave the slot as it is. (A whole-page rerun per release was most of a class
    # server's load, benchmarks/load_test.py.)
    held = st.session_state.get(HELD_Z_KEY)
    _where_z_sits_in(where_slot, run, held if isinstance(held, list) and len(held) == len(z) else z)


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
        st.button(
            "Start from a real image",
            on_click=_start_from_image,
            args=(mu, dataset.test_y, dataset.class_names),
            help="Encode the picked test image and put the sliders at its posterior mean μ(x).",
        )
        index = st.session_state.get("explore_start_index")
        if index is not None and index < n:
            st.image(upscale_nearest(dataset.test_x[index], scale_for_width(dataset.image_shape[-1], 84)),
                     caption=f"test image #{index}")  # fmt: skip


def _panel_options(run) -> bool:
    """The toggles above the sliders; True for the classic st.slider sliders."""
    c1, c2 = st.columns(2)
    classic = c1.toggle("classic sliders", key=CLASSIC_KEY,
                        help="Streamlit's own sliders: the image updates when you release the slider, not while you drag.")
    if not classic and latent_pad.browser_decoder(run, state.run_key(run)) is not None:
        c2.toggle("decode on the server", key=SERVER_DECODE_KEY,
                  help="Send z to the server while dragging instead of decoding in this browser (for comparison).")
    return classic


def _where_z_sits_in(slot, run, z: list[float]) -> None:
    """Draw "Where z sits" for z in `slot` (an st.empty outside the panel's fragment), unless it shows z already.

    The slot keeps its content through the fragment's drag-step reruns; main() forgets what it shows
    at every full run, which rebuilds the page."""
    key = (state.run_key(run), tuple(z), cvae_panel.selected_class(run))
    if st.session_state.get(WHERE_SHOWN_KEY) == key:
        return
    with slot.container():
        _where_z_sits(run, z)
    st.session_state[WHERE_SHOWN_KEY] = key


def _where_z_sits(run, z: list[float]) -> None:
    """The z of the last release: its values, its place among the encoded test images, the nearest training image."""
    shown = ", ".join(f"{v:+.2f}" for v in z[:8]) + (", …" if len(z) > 8 else "")
    st.caption(f"z on the server: ({shown})")
    try:
        dataset, _ = state.dataset_for(run)  # main() shows the note when it is a stand-in
    except ValueError:
        return  # main() says why
    fig, (picture, caption) = _where_figure_and_neighbour(run, dataset, z)
    with st.expander("Where z sits: the latent map and the nearest training image", expanded=len(z) <= 2):
        left, right = st.columns([3, 1])
        left.plotly_chart(fig, key="explore_where_map")
        right.image(picture, caption=caption)


@st.cache_resource(max_entries=16, show_spinner=False)
def _where_map(_run, _dataset, key: str) -> tuple[dict, tuple | None]:
    """(the map of the encoded test images with a ring to move, the PCA basis for d > 2 or None), per run.

    Shared by every session (read-only): a release then only moves the ring, instead of building and
    validating a plotly figure of thousands of points for each of a class's releases."""
    mu, _ = state.cached_encoding(_run, "test")
    if mu.shape[1] <= 2:
        points, basis, titles = analysis.project_2d(mu, "identity"), None, ("z₁", "z₂")
    else:
        basis = analysis.pca_basis(mu)
        points, titles = analysis.project_with_basis(mu, basis), ("PC 1 of μ", "PC 2 of μ")
    fig = latent_map_figure(points, _dataset.test_y, _dataset.class_names, axis_titles=titles, highlight=np.zeros(2))
    fig.update_layout(height=360)
    return fig.to_plotly_json(), basis


@st.cache_resource(max_entries=512, show_spinner=False)
def _nearest_training_image(_run, _dataset, key: str, z: tuple[float, ...], label: int | None) -> tuple[np.ndarray, str]:
    """(the training image nearest to the decoding of z, its caption); shared by every session, per run and z.

    A page switch and back shows the same z again, and a class starts from the same z = 0."""
    index, distance = analysis.nearest_training_image(state.decode_point(_run, z, label), _dataset.train_x)
    i = int(index[0])
    picture = upscale_nearest(_dataset.train_x[i], scale_for_width(_dataset.image_shape[-1], 112))
    caption = (f"nearest training image #{i} (class {_dataset.class_names[int(_dataset.train_y[i])]}), "
               f"pixel distance {float(distance[0]):.2f}")  # fmt: skip
    return picture, caption


def _where_figure_and_neighbour(run, dataset, z: list[float]):
    """(the latent map with z marked, (the nearest training image, its caption))."""
    key = f"{state.run_key(run)}|{dataset.spec}"
    figure_json, basis = _where_map(run, dataset, key)
    zt = np.asarray([z], dtype=np.float64)
    marker = analysis.project_2d(zt, "identity")[0] if basis is None else analysis.project_with_basis(zt, basis)[0]
    fig = with_highlight_at(figure_json, marker)
    return fig, _nearest_training_image(run, dataset, key, tuple(z), cvae_panel.selected_class(run))


def _traversal(run, d: int, dims: list[int]) -> None:
    st.subheader("Traversal grid")
    st.caption(
        "Row u: dimension z_u runs from −3 to 3 (prior σ units); every other dimension stays at the "
        "slider values of the last full refresh."
    )
    n_values = st.select_slider("values per row", [5, 7, 9, 11, 13], value=9, key="explore_traversal_values")
    st.button("Refresh with the current sliders", key="explore_traversal_refresh")
    rows = dims or list(range(min(d, MAX_SLIDERS)))
    fig = _traversal_figure(run, state.run_key(run), tuple(st.session_state[Z_KEY]), tuple(rows), n_values,
                            cvae_panel.selected_class(run))
    st.plotly_chart(fig, config={"displayModeBar": False}, key="explore_traversal_chart")


@st.cache_resource(max_entries=64, show_spinner=False)
def _traversal_figure(_run, key: str, z: tuple[float, ...], rows: tuple[int, ...], n_values: int, label: int | None):
    """The traversal grid around z, shared by every session (read-only): a class starts at z = 0, and a
    page switch and back asks for the same grid again."""
    values = np.linspace(-SLIDER_LIMIT, SLIDER_LIMIT, n_values)
    images = analysis.traversal_grid(_run.model, torch.tensor(z), list(rows), values, label=label)
    scale = max(1, scale_for_width(images.shape[-1], 56))
    return labelled_grid_figure(
        images, [f"z{u}" for u in rows], [f"{v:+.1f}" for v in values], row_title="dimension", col_title="value (prior σ)",
        scale=scale,
    )  # fmt: skip


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
    endpoints, steps_strip, fig = _interpolation_view(run, dataset, f"{state.run_key(run)}|{dataset.spec}", a, b, steps,
                                                      method, cvae_panel.selected_class(run))
    names = dataset.class_names
    class_a, class_b = names[int(dataset.test_y[a])], names[int(dataset.test_y[b])]
    st.image(endpoints, caption=f"A = #{a} (class {class_a}), B = #{b} (class {class_b})")
    st.image(steps_strip, caption=f"decoded steps from μ(A) to μ(B), {method_label}")
    st.plotly_chart(fig, key="explore_interp_map")
    if mu.shape[1] > 2:
        st.caption(f"d = {mu.shape[1]}: the map shows the first two principal components of the test set's μ.")


@st.cache_resource(max_entries=32, show_spinner=False)
def _interpolation_view(_run, _dataset, key: str, a: int, b: int, steps: int, method: str, label: int | None):
    """(images A and B, the decoded steps, the map with the path), shared by every session (read-only)."""
    mu, _ = state.cached_encoding(_run, "test")
    path = analysis.interpolate(mu[a], mu[b], steps, method)
    decoded = analysis.decode_points(_run.model, path, label)
    scale = scale_for_width(decoded.shape[-1], 64)
    if mu.shape[1] <= 2:
        points, path2, titles = analysis.project_2d(mu, "identity"), analysis.project_2d(path, "identity"), ("z₁", "z₂")
    else:
        # The path is projected with the same PCA as the codes, so it sits among them.
        basis = analysis.pca_basis(mu)
        points, path2 = analysis.project_with_basis(mu, basis), analysis.project_with_basis(path.to(mu.dtype), basis)
        titles = ("PC 1 of μ", "PC 2 of μ")
    fig = latent_map_figure(points, _dataset.test_y, _dataset.class_names, axis_titles=titles, path=path2)
    fig.update_layout(height=480)
    return (image_strip(_dataset.test_x[[a, b]], scale=scale, pad=2), image_strip(decoded, scale=scale, pad=2), fig)


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
        dims = _slider_dims(d)
        st.caption(f"{d} latent dimension(s), sliders in prior σ units (z ~ N(0, I), so ±3 covers 99.7% per axis).")
        classic = _panel_options(run)
        cvae_panel.class_picker(run)  # a cvae's class y, above the pad that draws it
        # The decoded image comes before anything that needs the dataset, so a cold start shows it soonest.
        panel_area, where_slot = st.container(), st.empty()
        st.session_state[WHERE_SHOWN_KEY] = None  # this full run rebuilds the page, the slot included
        with panel_area:
            (slider_panel if classic else pad_panel)(run, dims, where_slot)
        try:
            dataset, note = state.dataset_for(run)
            if note:
                st.warning(note, icon="⚠️")
        except ValueError as e:
            dataset = None
            st.warning(str(e), icon="⚠️")
        _buttons(run, d, dataset)
        st.divider()
        _traversal(run, d, dims)
        st.divider()
        _interpolation(run, dataset)
    except ValueError as e:
        st.error(str(e))

main()
