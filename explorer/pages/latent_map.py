"""Latent map: the test set's posterior means μ(x) as a scatter by class, with overlays, selection and KL statistics."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.widgets import cvae_panel
from explorer.components.latent_map_hover import (
    grid_preview,
    latent_map_hover,
    map_payload,
    mlp_preview,
    nearest_preview,
    requested_view_box,
    with_pinned,
    with_preview,
)
from explorer.figures import (
    class_trace_members,
    image_grid,
    image_strip,
    image_to_png_bytes,
    kl_per_dim_bar,
    latent_map_figure,
    scale_for_width,
    selected_dataset_indices,
    upscale_nearest,
)
from explorer.sidebar import render_sidebar
from explorer.server.torch_threads import for_interactive_work
from vae_core import analysis
from vae_core.serving.decoder_export import export_mlp_decoder
from vae_core.evaluation import per_image_terms

HELP = """
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

**Statistics:** a dimension is *active* when μ_u varies across images (variance > 0.01); inactive
ones have collapsed to the prior and carry almost no KL.
"""

TSNE_MAX_POINTS = 5000
AXES_VIEW = "two latent dimensions"
PROJECTION_LABELS = {"identity": "the latent space itself", "pca": "PCA", "tsne": "t-SNE"}
GALLERY_MAX = 120
ACTIVE_THRESHOLD = 0.01
FOR_RUN_KEY = "latent_map_for_run"
# Widgets whose options depend on the model; forgotten when the model changes, so no stale value is out of range.
MODEL_DEPENDENT_KEYS = ("latent_map_dim_x", "latent_map_dim_y", "latent_map_index")
HOVER_KEY = "latent_map_hover"
CLASS_KEY = "latent_map_cvae_class"
PINNED_KEY = "latent_map_pinned"
# Bytes of uint8 pixels in a conv model's hover grid: about 40×40 images of 32×32.
HOVER_GRID_BYTES = 1_600_000


@st.cache_data(max_entries=16, show_spinner="Projecting the codes to 2-D…")
def projection(key: str, method: str, _mu: torch.Tensor, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(points [M, 2], dataset indices [M]) of the codes; `key` names the model and split (μ is not hashed).

    At most max_points are kept, chosen with a fixed seed so the picture is the same every time.
    """
    n = _mu.shape[0]
    index = np.arange(n)
    if n > max_points:
        index = np.sort(np.random.default_rng(0).choice(n, max_points, replace=False))
    return analysis.project_2d(_mu[torch.from_numpy(index)], method, seed=0), index


def _view(d: int) -> tuple[str, tuple[int, int] | None]:
    """The chosen projection and, for an axis view, the two latent dimensions on the axes."""
    if d <= 2:
        st.caption(f"d = {d}: the map shows the latent space itself, no projection needed.")
        return "identity", (0, 1) if d == 2 else None
    choice = st.radio(
        "Projection to 2-D",
        ["PCA", "t-SNE", AXES_VIEW],
        horizontal=True,
        key="latent_map_projection",
        help=f"PCA is fast and linear; t-SNE keeps neighbours together but distorts distances "
        f"(at most {TSNE_MAX_POINTS:,} points, takes a while the first time); two latent dimensions "
        "shows z_a against z_b, where ellipses, the prior and the manifold grid make sense.",
    )
    if choice == AXES_VIEW:
        c1, c2 = st.columns(2)
        dim_x = c1.selectbox("horizontal axis", list(range(d)), 0, format_func=lambda i: f"z{i}", key="latent_map_dim_x")
        dim_y = c2.selectbox("vertical axis", list(range(d)), 1, format_func=lambda i: f"z{i}", key="latent_map_dim_y")
        if dim_x == dim_y:
            raise ValueError("Pick two different latent dimensions for the axes.")
        return "axes", (dim_x, dim_y)
    return ("pca" if choice == "PCA" else "tsne"), None


def _visible_plane(points: np.ndarray, include_prior: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges that hold the points (and ±3 when the prior is drawn), with a small margin."""
    lo, hi = points.min(0), points.max(0)
    if include_prior:
        lo, hi = np.minimum(lo, -3.2), np.maximum(hi, 3.2)
    margin = 0.05 * np.maximum(hi - lo, 1e-3)
    lo, hi = lo - margin, hi + margin
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


@st.cache_resource(max_entries=8, show_spinner=False)
def _decoder_export(_run, key: str, label: int | None = None) -> dict:
    # key names the weights (and label a cvae's class); the export is read-only and shared.
    return export_mlp_decoder(_run.model, label)


@st.cache_data(max_entries=8, show_spinner="Decoding a grid of images for the hover preview…")
def _hover_grid(_run, key: str, x_range, y_range, n: int, dims, label: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, xs, ys = analysis.manifold_grid_in_box(_run.model, x_range, y_range, n=n, dims=dims, label=label)
    return images.numpy(), xs.numpy(), ys.numpy()


@st.cache_data(max_entries=8, show_spinner="Reconstructing the shown images for the hover preview…")
def _reconstructions(_run, _dataset, key: str, index: np.ndarray) -> np.ndarray:
    rows = torch.from_numpy(index)
    return analysis.reconstruct(_run.model, _dataset.test_x[rows], _dataset.test_y[rows]).numpy()


def hover_grid_size(image_shape) -> int:
    """Cells per side of a conv model's hover grid: as fine as HOVER_GRID_BYTES of pixels allow, 8 to 48."""
    return int(np.clip(np.sqrt(HOVER_GRID_BYTES / np.prod(image_shape)), 8, 48))


def _hover_preview(run, dataset, key: str, method: str, axes, ranges, index) -> tuple[dict, str]:
    """(the component's preview, what the hover shows, in words) for this view."""
    d = run.model_config.latent_dim
    if axes is None:
        images = _reconstructions(run, dataset, key, index)
        return nearest_preview(images), (
            f"The plane is {PROJECTION_LABELS[method]} of the codes, not the latent space: hovering shows the "
            "reconstruction of the nearest encoded test image, not a decoding of the cursor's position."
        )
    others = " with every other dimension at 0" if d > 2 else ""
    if run.model_config.arch == "mlp":
        return mlp_preview(_decoder_export(run, state.run_key(run), cvae_panel.selected_class(run, CLASS_KEY)), axes, np.zeros(d)), (
            f"Decoded in your browser at the cursor's z{others}."
        )
    return _grid_preview_over(run, axes, ranges, zoomed=False)


def _grid_preview_over(run, axes, ranges, zoomed: bool) -> tuple[dict, str]:
    """A conv model's hover grid over ranges ((x0, x1), (y0, y1)) of the plane, and what it shows, in words."""
    n = hover_grid_size(run.model_config.image_shape)
    images, xs, ys = _hover_grid(run, state.run_key(run), tuple(ranges[0]), tuple(ranges[1]), n, tuple(axes),
                                 cvae_panel.selected_class(run, CLASS_KEY))
    others = " with every other dimension at 0" if run.model_config.latent_dim > 2 else ""
    where = "the part of the map in view" if zoomed else "the initial view; zoom or pan to decode a finer one"
    return grid_preview(images, xs, ys), (
        f"The nearest cell of a {n}×{n} grid decoded on the server over {where}{others} "
        "(a conv decoder is too big to run in the browser)."
    )


def _zoomed_grid(run, data: dict, axes) -> dict:
    """The map's data, its grid preview decoded again over the part of the plane the browser shows."""
    if data["preview"]["kind"] != "grid":
        return data
    box = requested_view_box(st.session_state.get(HOVER_KEY), data["view_id"])
    if box is None:
        return data
    return with_preview(data, *_grid_preview_over(run, axes, box, zoomed=True))


def pinned_latent(pinned: dict, axes, d: int, mu) -> torch.Tensor:
    """The z [d] of a pinned point: the plane's point (axis views, other dims 0) or the pinned image's μ."""
    if axes is None:
        return mu[int(pinned["index"])].float().clone()
    z = torch.zeros(d)
    z[axes[0]], z[axes[1]] = float(pinned["x"]), float(pinned["y"])
    return z


@st.fragment
def _hover_map(run, dataset, data: dict, axes, mu) -> None:
    """The hover map and the pinned point's details; a click reruns only this part."""
    for_interactive_work()
    data = _zoomed_grid(run, data, axes)
    pinned = latent_map_hover(data, key=HOVER_KEY)
    stored = st.session_state.get(PINNED_KEY)
    if pinned is None and isinstance(stored, dict) and stored.get("view_id") == data["view_id"]:
        pinned = stored  # the map was remounted (another page in between): its pin is ours
    st.session_state[PINNED_KEY] = pinned
    st.caption(data["hover_text"])
    if pinned is None:
        st.caption("Click the map to pin a point: its z and the nearest training image appear here.")
        return
    d = mu.shape[1]
    z = pinned_latent(pinned, axes, d, mu)
    # A cvae decodes a point of the plane as the picked class, and a pinned image's μ with its own label.
    y = cvae_panel.selected_class(run, CLASS_KEY) if axes is not None else dataset.test_y[int(pinned["index"])].reshape(1)
    image = state.decode_point(run, z, y)
    near, dist = analysis.nearest_training_image(image, dataset.train_x)
    near = int(near[0])
    values = ", ".join(f"{v:+.3f}" for v in z.tolist()) if d <= 16 else f"{d} values"
    where = "" if axes is None else f" at ({float(pinned['x']):+.3f}, {float(pinned['y']):+.3f}) on the map"
    st.markdown(f"**Pinned z** = ({values}){where}")
    scale = scale_for_width(dataset.image_shape[-1], 140)
    c1, c2, c3 = st.columns([1, 1, 2])
    if axes is None:
        index = int(pinned["index"])
        label = dataset.class_names[int(dataset.test_y[index])]
        c1.image(upscale_nearest(image, scale), caption=f"reconstruction of test image #{index} (class {label}), z = μ(x)")
    else:
        c1.image(upscale_nearest(image, scale), caption="decoder mean E[x | z] at the pinned z")
    near_class = f" (class {dataset.class_names[int(dataset.train_y[near])]})" if dataset.has_labels else ""
    c2.image(upscale_nearest(dataset.train_x[near], scale), caption=f"nearest training image #{near}{near_class}")
    c3.metric("pixel distance to the nearest training image (L2)", f"{float(dist[0]):.2f}")
    c3.caption("A small distance means the decoder reproduces a training image; a large one, something new.")


def _tile_box(xs, ys) -> tuple[tuple[float, float], tuple[float, float]]:
    """The region a manifold picture of tiles centred on xs [n] × ys [n] covers: half a step beyond them."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    dx, dy = (xs[-1] - xs[0]) / max(1, len(xs) - 1), (ys[-1] - ys[0]) / max(1, len(ys) - 1)
    return (xs[0] - dx / 2, xs[-1] + dx / 2), (ys[0] - dy / 2, ys[-1] + dy / 2)


@st.cache_resource(max_entries=256, show_spinner=False)
def _reconstruction_and_terms(_run, _dataset, key: str, index: int) -> tuple[torch.Tensor, dict]:
    """(the reconstruction, the per-image terms) of one test image; shared by every session (read-only):
    the page opens on image 0 for everyone."""
    x, y = _dataset.test_x[index : index + 1], _dataset.test_y[index : index + 1]
    # A fixed seed: −ELBO uses one sample z ~ q(z|x), so the numbers would wobble from run to run.
    return analysis.reconstruct(_run.model, x, y), per_image_terms(_run.model, x, generator_seed=0, y=y)


def _image_details(run, dataset, key: str, index: int, mu, logvar) -> None:
    x = dataset.test_x[index : index + 1]
    recon, terms = _reconstruction_and_terms(run, dataset, key, index)
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
                rows["σ"] = [f"{v:.3f}" for v in torch.exp(0.5 * logvar[index]).tolist()]
            st.dataframe(rows, hide_index=True)


@st.cache_resource(max_entries=16, show_spinner=False)
def _test_set_statistics(_mu, _logvar, key: str) -> tuple[int, float | None, object]:
    """(active units, total KL in nats per image or None, the KL-per-dimension bar or None) of a run's
    test codes; shared by every session (read-only), as the codes are."""
    n_active, variances = analysis.active_units(_mu, ACTIVE_THRESHOLD)
    if _logvar is None:
        return n_active, None, None
    kl = analysis.kl_per_dim(_mu, _logvar)
    return n_active, float(kl.sum()), kl_per_dim_bar(kl, active=(variances > ACTIVE_THRESHOLD).numpy())


def _statistics(run, key: str, mu, logvar) -> None:
    st.subheader("Statistics of the test set")
    n_active, total_kl, bar = _test_set_statistics(mu, logvar, key)
    d = mu.shape[1]
    c1, c2 = st.columns([1, 3])
    c1.metric(f"active units (Var_x[μ_u] > {ACTIVE_THRESHOLD})", f"{n_active} of {d}")
    if logvar is None:
        c2.info(
            "An AE has no posterior q(z | x), only a point code, so there are no ellipses and no KL per "
            "dimension to show; active units count the code dimensions that vary across images."
        )
        return
    c1.metric("KL(q(z|x) ‖ p(z)), nats per image (mean)", f"{total_kl:.2f}")
    with c2:
        st.plotly_chart(
            bar,
            key="latent_map_kl_bar",
            config={"displayModeBar": False},
        )
        st.caption("Grey bars: inactive dimensions, where q(z_u | x) ≈ N(0, 1) for every image (posterior collapse).")


@dataclass(frozen=True)
class MapView:
    """What the map shows for one choice of view and overlays: the same for every session."""

    index: np.ndarray  # the dataset rows drawn, [M]
    payload: dict  # the hover map's data, without a pinned point
    figure: object  # the plotly map, with selection traces per class
    trace_members: list  # dataset rows of each class trace, for reading a selection


@st.cache_resource(max_entries=16, show_spinner="Drawing the map…")
def _map_view(_run, _dataset, key: str, method: str, axes: tuple[int, int] | None, n_ellipses: int,
              show_prior: bool, grid_n: int, label: int | None) -> MapView:
    """The map's points, overlays, hover payload and plotly figure for one view; shared by every session
    (read-only). n_ellipses and grid_n are 0 when their overlay is off."""
    mu, logvar = state.cached_encoding(_run, "test")
    n = mu.shape[0]
    if axes is not None:
        index = np.arange(n)
        points = mu[:, list(axes)].double().numpy()
        titles = (f"z{axes[0]} (μ)", f"z{axes[1]} (μ)")
    else:
        points, index = projection(key, method, mu, TSNE_MAX_POINTS if method == "tsne" else n)
        titles = (f"{PROJECTION_LABELS[method]} 1", f"{PROJECTION_LABELS[method]} 2")

    ranges = _visible_plane(points, include_prior=show_prior)
    overlays = {}
    if n_ellipses:
        chosen = np.sort(np.random.default_rng(1).choice(n, min(n_ellipses, n), replace=False))
        rows = torch.from_numpy(chosen)
        overlays["ellipses"] = analysis.posterior_ellipse(mu[rows][:, list(axes)], logvar[rows][:, list(axes)])
    if show_prior:
        overlays["prior"] = analysis.prior_density_grid(*ranges, n=150)
    if grid_n:
        overlays["manifold"] = analysis.manifold_grid_in_box(_run.model, *ranges, n=grid_n, dims=axes, label=label)

    labels = _dataset.test_y[torch.from_numpy(index)]
    preview, hover_text = _hover_preview(_run, _dataset, key, method, axes, ranges, index)
    manifold = overlays.get("manifold")
    payload = map_payload(
        f"{key}|{method}|{axes}", points, labels.numpy(), _dataset.class_names, index, preview, titles, ranges,
        hover_text, ellipses=overlays.get("ellipses"), prior_radii=(1, 2, 3) if show_prior else (),
        manifold_png=None if manifold is None else image_to_png_bytes(image_grid(manifold[0], scale=1, pad=0)),
        manifold_box=None if manifold is None else _tile_box(manifold[1], manifold[2]),
    )  # fmt: skip
    figure = latent_map_figure(
        points, labels, _dataset.class_names, index=index, axis_titles=titles, axis_ranges=ranges, **overlays
    )
    return MapView(index=index, payload=payload, figure=figure, trace_members=class_trace_members(labels, index))


def _page(run, dataset) -> None:
    mu, logvar = state.cached_encoding(run, "test")
    n, d = mu.shape
    is_vae = logvar is not None
    key = f"{state.run_key(run)}|{dataset.spec}|test"
    if st.session_state.get(FOR_RUN_KEY) != key:
        for stale in MODEL_DEPENDENT_KEYS:
            st.session_state.pop(stale, None)
        st.session_state[FOR_RUN_KEY] = key

    method, axes = _view(d)
    axis_view = axes is not None
    cvae_panel.class_picker(run, CLASS_KEY, label="Class y that the hover, the pin and the manifold grid decode with",
                            note=cvae_panel.MAP_NOTE)
    st.markdown("**Overlays**")
    o1, o2, o3 = st.columns(3)
    # "and ...": a box ticked in another view stays ticked while disabled.
    show_ellipses = o1.checkbox("posterior ellipses μ ± 2σ", key="latent_map_ellipses", disabled=not (is_vae and axis_view))
    show_ellipses = show_ellipses and is_vae and axis_view
    n_ellipses = o1.slider("how many (random test images)", 5, 300, 50, key="latent_map_n_ellipses") if show_ellipses else 0
    show_prior = o2.checkbox("prior N(0, I) contours", key="latent_map_prior", disabled=not axis_view) and axis_view
    show_manifold = o3.checkbox("manifold grid of decoded images", key="latent_map_manifold", disabled=not axis_view)
    show_manifold = show_manifold and axis_view
    grid_n = o3.slider("grid size", 6, 30, 16, key="latent_map_grid_n") if show_manifold else 0
    if not is_vae:
        o1.caption("An AE has no q(z | x), so there is no σ to draw.")
    if not axis_view:
        st.caption(
            f"Ellipses, prior contours and the manifold grid live in the latent space itself; after "
            f"{PROJECTION_LABELS[method]} they have no faithful 2-D picture. Choose '{AXES_VIEW}' to see them."
        )
    elif d > 2 and show_manifold:
        st.caption("The manifold grid decodes the plane of the two axis dimensions with every other dimension at 0.")

    view = _map_view(run, dataset, key, method, axes, n_ellipses, show_prior, grid_n,
                     cvae_panel.selected_class(run, CLASS_KEY))
    if len(view.index) < n:
        st.caption(f"t-SNE of {len(view.index):,} of the {n:,} test images (a fixed random subset).")
    _hover_map(run, dataset, with_pinned(view.payload, st.session_state.get(PINNED_KEY)), axes, mu)

    st.subheader("Select images")
    event = st.plotly_chart(
        view.figure, key="latent_map_chart", on_select="rerun", selection_mode=("points", "box", "lasso"),
        config={"scrollZoom": True},
    )  # fmt: skip
    st.caption(f"The same {len(view.index):,} test images as a plotly chart: drag to pan, scroll to zoom, "
               "click a point or use box / lasso from the toolbar to see the images.")  # fmt: skip

    try:
        selected = selected_dataset_indices(event.selection.points, view.trace_members)
    except AttributeError:  # no selection state (e.g. in a test run)
        selected = []
    st.subheader("One image")
    if len(selected) == 1:
        chosen_index = selected[0]
        st.caption(f"Clicked: test image #{chosen_index}.")
    else:
        label = f"test image (0 to {n - 1}), or click a point"
        chosen_index = int(st.number_input(label, 0, n - 1, 0, key="latent_map_index"))
    _image_details(run, dataset, key, chosen_index, mu, logvar)

    if len(selected) > 1:
        st.subheader(f"Selected region: {len(selected)} images")
        shown = torch.tensor(selected[:GALLERY_MAX])
        counts = np.bincount(dataset.test_y[torch.tensor(selected)].numpy(), minlength=len(dataset.class_names))
        st.caption("by class: " + ", ".join(f"{dataset.class_names[c]}: {k}" for c, k in enumerate(counts) if k))
        st.image(image_strip(dataset.test_x[shown], scale=scale_for_width(dataset.image_shape[-1], 48), pad=2, n_cols=20),
                 caption=f"inputs{' (first ' + str(GALLERY_MAX) + ')' if len(selected) > GALLERY_MAX else ''}")  # fmt: skip

    st.divider()
    _statistics(run, key, mu, logvar)


def main() -> None:
    render_sidebar(HELP)
    st.title("Latent map")
    try:
        run = state.current_run()
        dataset, note = state.dataset_for(run)
    except ValueError as e:
        st.error(str(e))
        return
    if note:
        st.warning(note, icon="⚠️")
    try:
        _page(run, dataset)
    except ValueError as e:
        st.error(str(e))


main()
