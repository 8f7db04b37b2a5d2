"""The Explore page's latent panel: the live latent pad (or classic st.sliders) and the decoded image.

The pad (explorer/components/latent_pad.py) redraws while a slider is dragged; "classic sliders"
switches to st.slider, which reports only on release. Each panel is a fragment: a drag step or a
release reruns only the panel, which then redraws "Where z sits" in its slot below.

Session state: "explore_z" holds the whole latent vector (d floats), mirrored in "z_0", "z_1", … (the
classic sliders' keys); "explore_z_version" counts the times the server moved z (buttons, a new model),
so the pad knows to take it; "explore_decoded" holds the image on screen as uint8 [H, W] or [H, W, 3].
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.components import latent_pad
from explorer.figures import scale_for_width, to_uint8, upscale_nearest, upscale_pixels
from explorer.server.torch_threads import for_interactive_work
from explorer.views.decoder_export import browser_decoder
from explorer.widgets import cvae_panel
from explorer.widgets.where_z_sits import HELD_Z_KEY, where_z_sits_in

SLIDER_LIMIT = 3.0  # prior σ units
MAX_SLIDERS = 16
Z_KEY = "explore_z"
DECODED_KEY = "explore_decoded"
NOTE_KEY = "explore_note"
Z_VERSION_KEY = "explore_z_version"
CLASSIC_KEY = "explore_classic_sliders"
SERVER_DECODE_KEY = "explore_pad_server_decode"
PAD_KEY = "explore_pad"
PAD_ACK_KEY = "explore_pad_ack"  # the seq of the last z the pad sent that the server holds
WEIGHTS_SENT_KEY = "explore_pad_weights_sent"  # the run key whose decoder this page already has
NO_DIMS = "Pick at least one dimension above to get sliders."


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


def slider_dims(d: int) -> list[int]:
    """The latent dimensions that get a slider: all of them, or at most MAX_SLIDERS the user picks."""
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


def panel_options(run) -> bool:
    """The toggles above the sliders; True for the classic st.slider sliders."""
    c1, c2 = st.columns(2)
    classic = c1.toggle("classic sliders", key=CLASSIC_KEY,
                        help="Streamlit's own sliders: the image updates when you release the slider, not while you drag.")
    if not classic and browser_decoder(run) is not None:
        c2.toggle("decode on the server", key=SERVER_DECODE_KEY,
                  help="Send z to the server while dragging instead of decoding in this browser (for comparison).")
    return classic


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
            st.info(NO_DIMS)
    st.session_state[Z_KEY] = z
    image = decode_one(run, z)
    picture = upscale_nearest(image, scale_for_width(image.shape[-1]))
    st.session_state[DECODED_KEY] = picture
    with right:
        st.image(picture, caption="decoder mean E[x | z] at the slider values")
        _captions(run)
    cvae_panel.every_class_row(run, z)
    st.session_state[HELD_Z_KEY] = z  # a classic slider reports only on release
    where_z_sits_in(where_slot, run, z)


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
    decoder = None if st.session_state.get(SERVER_DECODE_KEY) else browser_decoder(run)
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
        st.info(NO_DIMS)
    cvae_panel.every_class_row(run, z)
    _captions(run)
    # A release reruns only this fragment, which redraws "Where z sits" in its slot below the panel;
    # drag steps leave the slot as it is.
    held = st.session_state.get(HELD_Z_KEY)
    where_z_sits_in(where_slot, run, held if isinstance(held, list) and len(held) == len(z) else z)
