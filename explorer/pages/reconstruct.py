"""Reconstruct: test images or an upload, through the model and back, with each term of the ELBO."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st
import torch

from explorer import state
from explorer.widgets import cvae_panel
from explorer.figures.images import scale_for_width, upscale_nearest
from explorer.figures.reconstruction import error_heatmaps, reconstruction_grid
from vae_core.runs.matching import find_counterpart, run_infos
from explorer.sidebar import render_sidebar
from vae_core.analysis.reconstruction import reconstruction_report
from vae_core.serving.image_input import load_user_image, suggest_invert

HELP = """
Each row is one image: the **input x**, the **reconstruction x̂** (the decoder's mean at z = μ(x)),
and reconstructions from **random draws z ~ q(z|x)**, the spread the encoder allows. The heatmaps show
**|x − x̂|** per pixel. The table gives each image's **reconstruction term −log p(x|z)**, the **KL** of q(z|x)
from the prior, **−ELBO** = their sum, and **−IWAE**, a tighter estimate of −log p(x). All are in
nats per image, and lower is better. An AE has only the reconstruction term: it has no prior, so it has no KL and no ELBO.
"""
SOURCES = ("Random test images", "One class", "By index", "Upload a PNG or JPEG")
MAX_IMAGES = 12

render_sidebar(HELP)
st.title("Reconstruct")

try:
    run = state.current_run()
    dataset = state.current_dataset()
except ValueError as e:
    st.error(str(e))
    st.stop()

model = run.model
test_x, test_y = dataset.test_x, dataset.test_y


def parse_indices(text: str, n: int) -> list[int]:
    """'3, 17, 42' -> [3, 17, 42], each in 0..n−1; ValueError says what is wrong."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        raise ValueError(f"image numbers: enter one or more numbers from 0 to {n - 1}, separated by commas")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"image numbers: {text!r} is not a list of whole numbers, e.g. 0, 5, 17") from None
    bad = [v for v in values if not 0 <= v < n]
    if bad:
        raise ValueError(f"image numbers: {bad} out of range; the test split has images 0 to {n - 1}")
    if len(values) > MAX_IMAGES:
        raise ValueError(f"image numbers: at most {MAX_IMAGES} images at once, got {len(values)}")
    return values


def class_label(i: int) -> str:
    return dataset.class_names[int(test_y[i])] if dataset.has_labels else ""


source = st.radio("Images", SOURCES, horizontal=True, key="recon_source")
controls = st.columns(3)
n_samples = controls[0].slider("Random draws z ~ q(z|x) per image", 1, 8, 4, key="recon_n_samples")
iw_samples = controls[1].number_input(
    "IWAE samples k", min_value=1, max_value=1000, value=100, step=10, key="recon_iw_samples",
    help="−IWAE_k is an estimate of −log p(x) that tightens as k grows; it never exceeds −ELBO on average.",
)  # fmt: skip
seed = controls[2].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="recon_seed")

x = None
row_labels: list[str] = []
if source == SOURCES[0]:
    n = st.slider("How many images", 1, MAX_IMAGES, 6, key="recon_n_random")
    indices = np.random.default_rng(int(seed)).choice(len(test_x), size=min(n, len(test_x)), replace=False).tolist()
elif source == SOURCES[1]:
    chosen = st.selectbox("Class", range(len(dataset.class_names)), format_func=lambda c: dataset.class_names[c],
                          key="recon_class")
    n = st.slider("How many images", 1, MAX_IMAGES, 6, key="recon_n_class")
    members = np.flatnonzero(test_y.numpy() == chosen)
    if len(members) == 0:
        st.warning(f"The test split has no image of class {dataset.class_names[chosen]!r}.")
        st.stop()
    indices = np.random.default_rng(int(seed)).choice(members, size=min(n, len(members)), replace=False).tolist()
elif source == SOURCES[2]:
    text = st.text_input(f"Test image numbers (0 to {len(test_x) - 1}, comma-separated)", "0, 1, 2, 3", key="recon_indices")
    try:
        indices = parse_indices(text, len(test_x))
    except ValueError as e:
        st.error(str(e))
        st.stop()
else:
    indices = []
    c, h, w = model.config.image_shape
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
        st.stop()
    try:
        converted, info = load_user_image(upload.getvalue(), model.config.image_shape, name=upload.name, invert=invert)
    except ValueError as e:
        st.error(str(e))
        st.stop()
    before, after = st.columns(2)
    with before:
        width, height = info["original_size"]
        st.image(info["preview"], caption=f"as uploaded: {info['format']}, {width}×{height}, mode {info['original_mode']}")
    with after:
        st.image(upscale_nearest(converted, scale_for_width(w, 160)), caption=f"what the model sees: {w}×{h}")
    st.caption("Conversion: " + ("; ".join(info["steps"]) if info["steps"] else "none needed."))
    if not invert and suggest_invert(converted, dataset.test_x):
        st.info("This image and the model's training images are light and dark the other way round: "
                "try **Invert light and dark**.")
    x = converted[None]
    # A conditional VAE reads the label too: the user says which class the upload shows.
    upload_class = cvae_panel.class_picker(run, "recon_cvae_class", label="Class of this image (a conditional VAE needs it)")
    y = None if upload_class is None else torch.tensor([upload_class])
    row_labels = [upload.name[:20]]

if x is None:
    x, y = test_x[indices], test_y[indices]
    row_labels = [f"#{i}" + (f" ({class_label(i)})" if class_label(i) else "") for i in indices]


def terms_table(terms: dict[str, torch.Tensor], is_variational: bool) -> pd.DataFrame:
    """One row per image (and their mean); signs as the column names say, nats per image."""
    columns = {"reconstruction −log p(x|z)": terms["recon"]}
    if is_variational:
        columns["KL(q(z|x) ‖ p(z))"] = terms["kl"]
        columns["−ELBO"] = terms["neg_elbo"]
        if "nll_iw" in terms:
            columns[f"−IWAE (k = {iw_samples}) ≈ −log p(x)"] = terms["nll_iw"]
    table = pd.DataFrame({name: values.double().numpy() for name, values in columns.items()}, index=row_labels)
    if len(table) > 1:
        table.loc["mean"] = table.mean()
    return table


@st.cache_resource(max_entries=32, show_spinner=False)
def reconstruction_view(_model, _x: torch.Tensor, _y: torch.Tensor | None, key: str, row_labels: tuple[str, ...],
                        n_samples: int, iw_samples: int, seed: int):
    """(the report, the grid of reconstructions, the error heatmaps) of images x under a model, shared by every
    session (read-only). `key` names the weights and the images; a class opens this page on the same
    random test images, and the −IWAE estimate with k = 100 costs hundreds of decodes each time."""
    report = reconstruction_report(_model, _x, n_samples=n_samples, iw_samples=iw_samples, seed=seed, y=_y)
    _, h, w = report.inputs.shape[1:]
    scale = max(1, min(scale_for_width(w, 72), 8))
    labels = list(row_labels)
    return (report, reconstruction_grid(report.inputs, report.mean, report.samples, labels, scale=scale),
            error_heatmaps(report.error, labels))


def images_key(x: torch.Tensor, y: torch.Tensor | None) -> str:
    """A digest of the images (and labels) a reconstruction is for: test images or an upload alike."""
    digest = hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes())
    if y is not None:
        digest.update(y.detach().cpu().contiguous().numpy().tobytes())
    return f"{tuple(x.shape)}|{digest.hexdigest()}"


def show_model(label: str, report, grid, errors, is_variational: bool) -> None:
    st.subheader(label)
    st.plotly_chart(grid, key=f"recon_grid_{label}")
    if not is_variational:
        st.caption("An AE's code is a point, not a distribution: every draw is the same reconstruction.")
    st.markdown("**|x − x̂| per pixel** (0 = exact, 1 = opposite)")
    st.plotly_chart(errors, key=f"recon_error_{label}")
    st.markdown("**Per-image terms, nats per image (lower is better)**")
    st.dataframe(terms_table(report.terms, is_variational).style.format("{:.2f}"))
    if not is_variational:
        st.caption("AE: no prior, so no KL, no −ELBO and no estimate of −log p(x); only the reconstruction term.")


def kind_name(m) -> str:
    return "VAE" if m.is_variational else "AE"


counterpart = find_counterpart(run.path, run_infos(state.model_choices()))
models = [(f"{kind_name(model)} · {run.name}", run)]
if counterpart is not None:
    compare = st.checkbox(
        f"Compare side by side with the {counterpart.model['kind'].upper()} of the same architecture, "
        f"{counterpart.name!r}", value=True, key="recon_compare",
    )  # fmt: skip
    if compare:
        try:
            other = state.load_selected_run(counterpart.path)
            models.append((f"{kind_name(other.model)} · {other.name}", other))
        except ValueError as e:
            st.warning(f"The matching model {counterpart.name!r} cannot be loaded: {e}")
    # The VAE on the left, so the two pages read the same way whichever was selected.
    models.sort(key=lambda item: not item[1].model.is_variational)

shown = images_key(x, y)
try:
    reports = [(label, r.model, reconstruction_view(r.model, x, y, f"{state.run_key(r)}|{shown}", tuple(row_labels),
                                                    int(n_samples), int(iw_samples), int(seed)))
               for label, r in models]  # fmt: skip
except ValueError as e:
    st.error(str(e))
    st.stop()

columns = st.columns(len(reports))
for column, (label, m, (report, grid, errors)) in zip(columns, reports):
    with column:
        show_model(label, report, grid, errors, m.is_variational)

with st.expander("The equations"):
    st.latex(r"-\mathrm{ELBO}(x) = \underbrace{\mathbb{E}_{q(z|x)}\left[-\log p(x|z)\right]}_{\text{reconstruction}}"
             r" + \underbrace{\mathrm{KL}\left(q(z|x)\,\|\,p(z)\right)}_{\text{KL}} \;\ge\; -\log p(x)")
    st.latex(r"-\mathrm{IWAE}_k(x) = -\log \frac{1}{k}\sum_{i=1}^{k} \frac{p(x|z_i)\,p(z_i)}{q(z_i|x)},"
             r"\quad z_i \sim q(z|x), \qquad -\mathrm{ELBO} \ge -\mathrm{IWAE}_k \ge -\log p(x) \text{ (on average)}")
    st.caption("The reconstruction term in the table uses one draw z ~ q(z|x) per image, fixed by the seed.")
