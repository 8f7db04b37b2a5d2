"""Which images the Reconstruct page reconstructs: random test images, one class, by index, or an upload."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from explorer.figures.images import scale_for_width, upscale_nearest
from explorer.widgets import cvae_panel
from vae_core.fields import ConfigError, parse_int_list
from vae_core.serving import image_input

SOURCES = ("Random test images", "One class", "By index", "Upload a PNG or JPEG")
MAX_IMAGES = 12
INDEX_FIELD = "image_numbers"


@dataclass(frozen=True)
class Images:
    """Images [N, C, H, W] with their labels [N] (None for an unlabelled upload) and a row label each."""

    x: torch.Tensor
    y: torch.Tensor | None
    row_labels: list[str]


def parse_indices(text: str, n: int) -> list[int]:
    """'3, 17, 42' -> [3, 17, 42], each in 0..n−1, at most MAX_IMAGES; ConfigError names the image numbers."""
    values = list(parse_int_list(text, INDEX_FIELD, example="0, 5, 17"))
    bad = [v for v in values if not 0 <= v < n]
    if bad:
        raise ConfigError(INDEX_FIELD, f"image numbers: {bad} out of range; the test split has images 0 to {n - 1}")
    if len(values) > MAX_IMAGES:
        raise ConfigError(INDEX_FIELD, f"image numbers: at most {MAX_IMAGES} images at once, got {len(values)}")
    return values


def _test_images(dataset, indices: list[int]) -> Images:
    def row_label(i: int) -> str:
        label = dataset.class_names[int(dataset.test_y[i])] if dataset.has_labels else ""
        return f"#{i}" + (f" ({label})" if label else "")

    return Images(dataset.test_x[indices], dataset.test_y[indices], [row_label(i) for i in indices])


def _random_indices(dataset, seed: int) -> list[int]:
    n = st.slider("How many images", 1, MAX_IMAGES, 6, key="recon_n_random")
    size = min(n, len(dataset.test_x))
    return np.random.default_rng(seed).choice(len(dataset.test_x), size=size, replace=False).tolist()


def _class_indices(dataset, seed: int) -> list[int] | None:
    chosen = st.selectbox("Class", range(len(dataset.class_names)), format_func=lambda c: dataset.class_names[c],
                          key="recon_class")  # fmt: skip
    n = st.slider("How many images", 1, MAX_IMAGES, 6, key="recon_n_class")
    members = np.flatnonzero(dataset.test_y.numpy() == chosen)
    if len(members) == 0:
        st.warning(f"The test split has no image of class {dataset.class_names[chosen]!r}.")
        return None
    return np.random.default_rng(seed).choice(members, size=min(n, len(members)), replace=False).tolist()


def _typed_indices(dataset) -> list[int] | None:
    n = len(dataset.test_x)
    text = st.text_input(f"Test image numbers (0 to {n - 1}, comma-separated)", "0, 1, 2, 3", key="recon_indices")
    try:
        return parse_indices(text, n)
    except ValueError as e:
        st.error(str(e))
        return None


def _uploaded_image(run, dataset) -> Images | None:
    shape = run.model_config.image_shape
    c, h, w = shape
    upload = st.file_uploader(
        f"A PNG or JPEG; it is converted to {'grey' if c == 1 else 'RGB'} {w}×{h} pixels, like the model's images",
        type=["png", "jpg", "jpeg"], key="recon_upload",
    )  # fmt: skip
    invert = st.checkbox(
        "Invert light and dark", key="recon_invert",
        help="MNIST-style digits are light strokes on a dark background; a photo of ink on paper is the reverse.",
    )  # fmt: skip
    if upload is None:
        st.info("Upload an image to see how the model reconstructs it.")
        return None
    try:
        # Through the module, so a test can watch what the model is given.
        converted, info = image_input.load_user_image(upload.getvalue(), shape, name=upload.name, invert=invert)
    except ValueError as e:
        st.error(str(e))
        return None
    before, after = st.columns(2)
    with before:
        width, height = info["original_size"]
        st.image(info["preview"], caption=f"as uploaded: {info['format']}, {width}×{height}, mode {info['original_mode']}")
    with after:
        st.image(upscale_nearest(converted, scale_for_width(w, 160)), caption=f"what the model sees: {w}×{h}")
    st.caption("Conversion: " + ("; ".join(info["steps"]) if info["steps"] else "none needed."))
    if not invert and image_input.suggest_invert(converted, dataset.test_x):
        st.info("This image and the model's training images are light and dark the other way round: "
                "try **Invert light and dark**.")
    # A conditional VAE reads the label too: the user says which class the upload shows.
    upload_class = cvae_panel.class_picker(run, "recon_cvae_class", label="Class of this image (a conditional VAE needs it)")
    y = None if upload_class is None else torch.tensor([upload_class])
    return Images(converted[None], y, [upload.name[:20]])


def chosen_images(source: str, run, dataset, seed: int) -> Images | None:
    """The images of `source` (one of SOURCES) with their controls; None, with the reason shown, when there are none."""
    if source == SOURCES[3]:
        return _uploaded_image(run, dataset)
    if source == SOURCES[0]:
        indices = _random_indices(dataset, seed)
    elif source == SOURCES[1]:
        indices = _class_indices(dataset, seed)
    else:
        indices = _typed_indices(dataset)
    return None if indices is None else _test_images(dataset, indices)
