"""A conditional VAE's controls: the class y the decoder draws, and one style z shown in every class.

A cvae decodes p(x|z, y): the label y says which class, the latent z carries what the label does not
(slant, thickness, size): the style. Pages call these for any run; for an unconditional model they
draw nothing and `selected_class` is None, which every decode accepts.

Session state: CLASS_KEY holds the class index the Explore page decodes with; EVERY_CLASS_KEY the
"this style, every class" row on screen, uint8 [K, H, W] (or [K, H, W, 3]).
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer.figures import scale_for_width, to_uint8
from vae_core import analysis

CLASS_KEY = "cvae_class"
EVERY_CLASS_KEY = "cvae_every_class"
ROW_IMAGE_PX = 56
MAP_NOTE = (
    "A conditional VAE is told the class, so z need not tell the classes apart: expect the colours to "
    "overlap. What z still separates is style (slant, width, thickness), shared across classes."
)


def class_names(run) -> list[str]:
    """A name for each of the model's classes: the dataset's, else 'class k' for classes it never had."""
    names = list(run.dataset_info.get("class_names") or [])
    return [names[k] if k < len(names) else f"class {k}" for k in range(run.model_config.num_classes)]


def selected_class(run, key: str = CLASS_KEY) -> int | None:
    """The class to decode with: the picker's value for a cvae (0 before it is shown), None for other models."""
    if not run.model.is_conditional:
        return None
    value = st.session_state.get(key, 0)
    return value if isinstance(value, int) and 0 <= value < run.model_config.num_classes else 0


def follow_class(label: int, key: str = CLASS_KEY) -> None:
    """Move the picker to `label` (from a callback, e.g. when the sliders jump to a real image's μ)."""
    st.session_state[key] = int(label)


def class_picker(run, key: str = CLASS_KEY, label: str = "Class y to draw", note: str | None = None) -> int | None:
    """A horizontal picker of the class y for a cvae, with `note` under it; returns the class (None, and
    nothing shown, for other models)."""
    if not run.model.is_conditional:
        return None
    names = class_names(run)
    if st.session_state.get(key) not in range(len(names)):
        st.session_state[key] = 0  # a value left by another model, or none yet
    chosen = st.radio(
        label, list(range(len(names))), format_func=lambda k: names[k], horizontal=True, key=key,
        help="A conditional VAE is told the class: y picks which class to draw, and z (the sliders) how to draw it.",
    )  # fmt: skip
    if note:
        st.caption(note)
    return chosen


def every_class_row(run, z, key: str = CLASS_KEY) -> None:
    """The current z decoded with every class label: one style, written as each class."""
    if not run.model.is_conditional:
        return
    images = analysis.decode_every_class(run.model, torch.as_tensor(z, dtype=torch.float32))  # [K, C, H, W]
    scale = scale_for_width(images.shape[-1], ROW_IMAGE_PX)
    pictures = to_uint8(images).repeat(scale, axis=1).repeat(scale, axis=2)  # [K, H·s, W·s, C]
    pictures = pictures[..., 0] if pictures.shape[-1] == 1 else pictures
    st.session_state[EVERY_CLASS_KEY] = pictures
    chosen = selected_class(run, key)
    names = [f"▶ {n}" if k == chosen else n for k, n in enumerate(class_names(run))]
    st.markdown("**This style, every class**: the same z decoded with each label y")
    st.image(list(np.ascontiguousarray(pictures)), caption=names, width=ROW_IMAGE_PX)
