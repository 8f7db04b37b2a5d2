"""Latent map: the test set's posterior means μ(x) as a scatter by class, with overlays, selection and KL statistics."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.components.latent_map_hover import with_pinned
from explorer.figures import image_strip, scale_for_width, selected_dataset_indices, upscale_nearest
from explorer.sidebar import render_sidebar
from explorer.views.latent_map import code_statistics, map_view, reconstruction_and_terms
from explorer.widgets import cvae_panel, map_controls
from explorer.widgets.hover_map import CLASS_KEY, PINNED_KEY, hover_map
from vae_core import analysis
from vae_core.evaluation import ACTIVE_UNIT_THRESHOLD

HELP = f"""
Each dot is one test image x, placed at the mean μ(x) of its posterior q(z | x) and coloured by
its class; click a class in the legend to hide it. Close dots are images the encoder finds similar.

**Overlays:** the ellipse μ ± 2σ shows how unsure the encoder is about an image's z; the dashed
circles are the prior N(0, I) at 1, 2 and 3 σ, which the KL term pulls the codes towards; the
manifold grid decodes the points of the visible plane, so you see what each region means.

**Hover** anywhere over the map to see the decoded image under the cursor (in a 2-D view the
decoder runs on the point itself; after PCA or t-SNE it shows the nearest test image's
reconstruction, since the plane is not the latent space). **Click** to pin a point: its z and the
nearest training image appear below the map.

In the selection map further down, **click** a dot to see the image, its reconstruction and its −ELBO; **box or lasso** (toolbar)
a region to see all its images. With more than 2 latent dimensions, the map is a 2-D projection
(PCA or t-SNE), or two chosen dimensions with the others at 0.

**Statistics:** a dimension is *active* when μ_u varies across images (variance > {ACTIVE_UNIT_THRESHOLD}); inactive
ones have collapsed to the prior and carry almost no KL.
"""

GALLERY_MAX = 120
FOR_RUN_KEY = "latent_map_for_run"
# Widgets whose options depend on the model; forgotten when the model changes, so no stale value is out of range.
MODEL_DEPENDENT_KEYS = ("latent_map_dim_x", "latent_map_dim_y", "latent_map_index")


def _forget_another_models_widgets(run, dataset) -> None:
    shown = f"{state.run_key(run)}|{dataset.spec}|test"
    if st.session_state.get(FOR_RUN_KEY) != shown:
        for stale in MODEL_DEPENDENT_KEYS:
            st.session_state.pop(stale, None)
        st.session_state[FOR_RUN_KEY] = shown


def _image_details(run, dataset, index: int, mu, logvar) -> None:
    x = dataset.test_x[index : index + 1]
    recon, terms = reconstruction_and_terms(run, dataset, index)
    scale = scale_for_width(x.shape[-1], 140)
    c1, c2, c3 = st.columns([1, 1, 2])
    label = dataset.class_names[int(dataset.test_y[index])]
    c1.image(upscale_nearest(x[0], scale), caption=f"input: test image #{index}, class {label}")
    c2.image(upscale_nearest(recon[0], scale), caption="reconstruction (decoder mean at z = μ)")
    with c3:
        if run.model.is_variational:
            st.metric("−ELBO, nats per image (lower is better)", f"{terms['neg_elbo'][0]:.2f}")
            st.markdown(
                f"= reconstruction −log p(x | z) **{terms['recon'][0]:.2f}** nats "
                f"+ KL(q(z | x) ‖ p(z)) **{terms['kl'][0]:.2f}** nats  \n"
                "(one sample z ~ q(z | x) for the reconstruction term)"
            )
        else:
            st.metric("reconstruction −log p(x | x̂), nats per image (lower is better)", f"{terms['recon'][0]:.2f}")
            st.caption("An AE has no KL term and no ELBO: its code is a point, not a distribution.")
        d = mu.shape[1]
        if d <= 16:
            rows = {"dimension": [f"z{u}" for u in range(d)], "μ": [f"{v:+.2f}" for v in mu[index].tolist()]}
            if logvar is not None:
                rows["σ"] = [f"{v:.3f}" for v in analysis.posterior_std(logvar[index]).tolist()]
            st.dataframe(rows, hide_index=True)


def _statistics(run, dataset, d: int) -> None:
    st.subheader("Statistics of the test set")
    n_active, total_kl, bar = code_statistics(run, dataset)
    c1, c2 = st.columns([1, 3])
    c1.metric(f"active units (Var_x[μ_u] > {ACTIVE_UNIT_THRESHOLD})", f"{n_active} of {d}")
    if total_kl is None:
        c2.info(
            "An AE has no posterior q(z | x), only a point code, so there are no ellipses and no KL per "
            "dimension to show; active units count the code dimensions that vary across images."
        )
        return
    c1.metric("KL(q(z|x) ‖ p(z)), nats per image (mean)", f"{total_kl:.2f}")
    with c2:
        st.plotly_chart(bar, key="latent_map_kl_bar", config={"displayModeBar": False})
        st.caption("Grey bars: inactive dimensions, where q(z_u | x) ≈ N(0, 1) for every image (posterior collapse).")


def _selection_map(view) -> list[int]:
    """The plotly map to click, box or lasso test images on; returns the selected dataset rows."""
    st.subheader("Select images")
    event = st.plotly_chart(
        view.figure, key="latent_map_chart", on_select="rerun", selection_mode=("points", "box", "lasso"),
        config={"scrollZoom": True},
    )  # fmt: skip
    st.caption(f"The same {len(view.index):,} test images as a plotly chart: drag to pan, scroll to zoom, "
               "click a point or use box / lasso from the toolbar to see the images.")  # fmt: skip
    try:
        return selected_dataset_indices(event.selection.points, view.trace_members)
    except AttributeError:  # no selection state (e.g. in a test run)
        return []


def _gallery(dataset, selected: list[int]) -> None:
    st.subheader(f"Selected region: {len(selected)} images")
    shown = torch.tensor(selected[:GALLERY_MAX])
    counts = np.bincount(dataset.test_y[torch.tensor(selected)].numpy(), minlength=len(dataset.class_names))
    st.caption("by class: " + ", ".join(f"{dataset.class_names[c]}: {k}" for c, k in enumerate(counts) if k))
    st.image(image_strip(dataset.test_x[shown], scale=scale_for_width(dataset.image_shape[-1], 48), pad=2, n_cols=20),
             caption=f"inputs{' (first ' + str(GALLERY_MAX) + ')' if len(selected) > GALLERY_MAX else ''}")  # fmt: skip


def _sections(run, dataset) -> None:
    mu, logvar = state.cached_encoding(run, "test")
    n, d = mu.shape
    _forget_another_models_widgets(run, dataset)
    method, axes = map_controls.projection_choice(d)
    cvae_panel.class_picker(run, CLASS_KEY, label="Class y that the hover, the pin and the manifold grid decode with",
                            note=cvae_panel.MAP_NOTE)
    overlays = map_controls.overlay_choices(run.model.is_variational, method, axes, d)
    view = map_view(run, dataset, method, axes, overlays.n_ellipses, overlays.show_prior, overlays.grid_n,
                    cvae_panel.selected_class(run, CLASS_KEY))
    if len(view.index) < n:
        st.caption(f"t-SNE of {len(view.index):,} of the {n:,} test images (a fixed random subset).")
    hover_map(run, dataset, with_pinned(view.payload, st.session_state.get(PINNED_KEY)), axes, mu)

    selected = _selection_map(view)
    st.subheader("One image")
    if len(selected) == 1:
        chosen_index = selected[0]
        st.caption(f"Clicked: test image #{chosen_index}.")
    else:
        label = f"test image (0 to {n - 1}), or click a point"
        chosen_index = int(st.number_input(label, 0, n - 1, 0, key="latent_map_index"))
    _image_details(run, dataset, chosen_index, mu, logvar)
    if len(selected) > 1:
        _gallery(dataset, selected)
    st.divider()
    _statistics(run, dataset, d)


def main() -> None:
    render_sidebar(HELP)
    st.title("Latent map")
    try:
        run = state.current_run()
        dataset = state.current_dataset()  # with a warning when it is a stand-in
    except ValueError as e:
        st.error(str(e))
        return
    try:
        _sections(run, dataset)
    except ValueError as e:
        st.error(str(e))


main()
