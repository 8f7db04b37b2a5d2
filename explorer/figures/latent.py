"""Latent-map figures: a WebGL scatter of codes by class, its overlays, and KL per dimension.

`latent_map_figure` builds the whole map; the `add_*` functions add one overlay to any figure and
return it. Points carry their dataset index in `customdata`, so a selection maps back to images.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

from explorer.figures.images import image_grid

# Plotly's qualitative palettes, long enough for 10 classes and more; cycled beyond that.
CLASS_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#ad494a", "#8ca252", "#bd9e39", "#7b4173",
]  # fmt: skip
PRIOR_RADII = (1, 2, 3)


def _numpy(values, dtype=np.float64) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def latent_scatter(
    points,
    labels,
    class_names: list[str],
    index=None,
    axis_titles: tuple[str, str] = ("z₁", "z₂"),
    marker_size: float = 5,
    opacity: float = 0.75,
) -> go.Figure:
    """Points [N, 2] coloured by labels [N]: one WebGL trace per class, so the legend toggles classes.

    `index` [N] (default 0..N−1) is stored in customdata and shown on hover as the image's number.
    """
    points = _numpy(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"latent scatter: expected points of shape [N, 2], got {list(points.shape)}")
    labels = _numpy(labels, np.int64).reshape(-1)
    if labels.shape[0] != points.shape[0]:
        raise ValueError(f"latent scatter: {points.shape[0]} points but {labels.shape[0]} labels")
    index = np.arange(points.shape[0]) if index is None else _numpy(index, np.int64).reshape(-1)
    fig = go.Figure()
    for label in np.unique(labels):
        members = labels == label
        name = class_names[label] if 0 <= label < len(class_names) else str(label)
        fig.add_trace(
            go.Scattergl(
                x=points[members, 0],
                y=points[members, 1],
                mode="markers",
                name=name,
                customdata=index[members],
                marker=dict(size=marker_size, color=CLASS_COLOURS[int(label) % len(CLASS_COLOURS)], opacity=opacity),
                hovertemplate=f"class {name}<br>image #%{{customdata}}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis_title=axis_titles[0],
        yaxis_title=axis_titles[1],
        legend_title_text="class (click to hide)",
        margin=dict(l=10, r=10, t=30, b=10),
        height=620,
        dragmode="pan",
        # Zoom and hidden classes survive reruns as long as the figure keeps this revision.
        uirevision="latent-map",
    )
    # Equal units on both axes, so circles (the prior) and ellipses keep their shape.
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def add_posterior_ellipses(fig: go.Figure, outlines, name: str = "posterior μ ± 2σ") -> go.Figure:
    """Outlines [K, P, 2] (closed curves, e.g. analysis.posterior_ellipse) as one line trace."""
    outlines = _numpy(outlines)
    if outlines.ndim != 3 or outlines.shape[-1] != 2:
        raise ValueError(f"posterior ellipses: expected outlines of shape [K, P, 2], got {list(outlines.shape)}")
    k, p, _ = outlines.shape
    # One trace for all K ellipses: a NaN row after each breaks the line between them.
    gaps = np.concatenate([outlines, np.full((k, 1, 2), np.nan)], axis=1).reshape(k * (p + 1), 2)
    fig.add_trace(
        go.Scattergl(
            x=gaps[:, 0], y=gaps[:, 1], mode="lines", name=name, hoverinfo="skip",
            line=dict(color="rgba(40, 40, 40, 0.55)", width=1),
        )
    )  # fmt: skip
    return fig


def add_prior_contours(fig: go.Figure, xs, ys, density) -> go.Figure:
    """Contours of N(0, I) from analysis.prior_density_grid, drawn at 1σ, 2σ and 3σ."""
    density = _numpy(density)
    # For N(0, I) in 2-D, p = exp(−r²/2) / 2π, so the Mahalanobis radius r = √(−2 ln 2πp) is evenly spaced.
    radius = np.sqrt(np.maximum(0.0, -2.0 * np.log(np.maximum(density * 2 * math.pi, 1e-300))))
    fig.add_trace(
        go.Contour(
            x=_numpy(xs), y=_numpy(ys), z=radius, name="prior N(0, I): 1σ, 2σ, 3σ", showlegend=True,
            contours=dict(start=PRIOR_RADII[0], end=PRIOR_RADII[-1], size=1, coloring="none", showlabels=True,
                          labelfont=dict(size=10, color="#555")),
            line=dict(color="#555", width=1.5, dash="dash"), showscale=False, hoverinfo="skip",
        )
    )  # fmt: skip
    return fig


def add_manifold_image(fig: go.Figure, images, xs, ys, opacity: float = 0.85) -> go.Figure:
    """Decoded images [n, n, C, H, W] (analysis.manifold_grid_in_box) laid under the points.

    Tile (i, j) is centred on (xs[j], ys[n − 1 − i]): the picture spans half a grid step beyond the
    outer centres.
    """
    xs, ys = _numpy(xs), _numpy(ys)
    picture = image_grid(images, scale=1, pad=0)
    dx = (xs[-1] - xs[0]) / max(1, len(xs) - 1)
    dy = (ys[-1] - ys[0]) / max(1, len(ys) - 1)
    fig.add_layout_image(
        source=Image.fromarray(picture),
        xref="x", yref="y", x=xs[0] - dx / 2, y=ys[-1] + dy / 2,
        sizex=xs[-1] - xs[0] + dx, sizey=ys[-1] - ys[0] + dy,
        sizing="stretch", layer="below", opacity=opacity,
    )  # fmt: skip
    return fig


def add_path(fig: go.Figure, path, name: str = "interpolation path") -> go.Figure:
    """A path of 2-D points [S, 2] as a line with numbered steps; the ends are marked A and B."""
    path = _numpy(path)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) < 1:
        raise ValueError(f"path: expected points of shape [S, 2], got {list(path.shape)}")
    text = [""] * len(path)
    text[0], text[-1] = "A", "B"
    fig.add_trace(
        go.Scatter(
            x=path[:, 0], y=path[:, 1], mode="lines+markers+text", name=name, text=text,
            textposition="top center", customdata=np.arange(len(path)),
            line=dict(color="black", width=2), marker=dict(size=7, color="black", symbol="diamond"),
            hovertemplate="step %{customdata}<br>(%{x:.2f}, %{y:.2f})<extra></extra>",
        )
    )  # fmt: skip
    return fig


def add_highlight(fig: go.Figure, point, name: str = "selected") -> go.Figure:
    """A ring around one 2-D point (e.g. the clicked image)."""
    x, y = _numpy(point).reshape(2)
    fig.add_trace(
        go.Scatter(
            x=[x], y=[y], mode="markers", name=name, hoverinfo="skip",
            marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color="black", width=2.5)),
        )
    )  # fmt: skip
    return fig


def latent_map_figure(
    points,
    labels,
    class_names: list[str],
    index=None,
    axis_titles: tuple[str, str] = ("z₁", "z₂"),
    ellipses=None,
    prior=None,
    manifold=None,
    path=None,
    highlight=None,
    axis_ranges=None,
) -> go.Figure:
    """The latent map with any overlays: ellipses [K, P, 2], prior (xs, ys, density), manifold (images, xs, ys),
    path [S, 2], highlight [2]; axis_ranges ((x0, x1), (y0, y1)) fixes the visible plane."""
    fig = latent_scatter(points, labels, class_names, index=index, axis_titles=axis_titles)
    if manifold is not None:
        add_manifold_image(fig, *manifold)
    if prior is not None:
        add_prior_contours(fig, *prior)
    if ellipses is not None:
        add_posterior_ellipses(fig, ellipses)
    if path is not None:
        add_path(fig, path)
    if highlight is not None:
        add_highlight(fig, highlight)
    if axis_ranges is not None:
        (x0, x1), (y0, y1) = axis_ranges
        fig.update_xaxes(range=[x0, x1])
        fig.update_yaxes(range=[y0, y1], constrain="domain")
    return fig


def with_highlight_at(figure_json: dict, point, name: str = "selected") -> go.Figure:
    """A latent map made once (its `to_plotly_json()`, with an `add_highlight` ring) with the ring moved to
    point [2]. Built without plotly's validation, which costs ~20x the copy; the map was validated when
    it was made. The figure does not share its lists with figure_json."""
    x, y = _numpy(point).reshape(2)
    data = list(figure_json["data"])
    ring = next(k for k in range(len(data) - 1, -1, -1) if data[k].get("name") == name)
    data[ring] = {**data[ring], "x": [float(x)], "y": [float(y)]}
    return go.Figure({"data": data, "layout": figure_json["layout"]}, _validate=False)


def selected_dataset_indices(points: list[dict], trace_members: list) -> list[int]:
    """Dataset indices of selected points (st.plotly_chart's selection["points"]), each once, in order.

    trace_members[k] lists trace k's dataset indices (the class traces come first, in label order);
    points on later traces (path, highlight, contours) are ignored. customdata carries the index, and
    (curve_number, point_index) is the fallback when a front end leaves it out.
    """
    found = []
    for p in points:
        curve = p.get("curve_number", 0)
        if curve >= len(trace_members):
            continue
        custom = p.get("customdata")
        if isinstance(custom, (list, tuple)):
            custom = custom[0] if custom else None
        if custom is not None:
            found.append(int(custom))
        elif p.get("point_index") is not None and p["point_index"] < len(trace_members[curve]):
            found.append(int(trace_members[curve][p["point_index"]]))
    return list(dict.fromkeys(found))


def class_trace_members(labels, index=None) -> list[np.ndarray]:
    """The dataset indices on each class trace of latent_scatter(points, labels, index=index), in trace order."""
    labels = _numpy(labels, np.int64).reshape(-1)
    index = np.arange(labels.shape[0]) if index is None else _numpy(index, np.int64).reshape(-1)
    return [index[labels == label] for label in np.unique(labels)]


def kl_per_dim_bar(kl, active=None, title: str = "") -> go.Figure:
    """Bars of the mean KL(q(z_u|x) ‖ N(0, 1)) per latent dimension u, nats per image; `active` [d] bools colour them."""
    kl = _numpy(kl).reshape(-1)
    dims = np.arange(kl.shape[0])
    if active is None:
        colours = ["#1f77b4"] * len(kl)
    else:
        colours = ["#1f77b4" if a else "#bbbbbb" for a in _numpy(active, bool).reshape(-1)]
    fig = go.Figure(
        go.Bar(
            x=dims, y=kl, marker_color=colours,
            hovertemplate="dimension z%{x}<br>KL %{y:.3f} nats per image<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title=title or None,
        xaxis_title="latent dimension u",
        yaxis_title="KL(q(z_u|x) ‖ N(0,1)), nats per image",
        height=300,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        bargap=0.15,
    )
    fig.update_xaxes(tickmode="linear" if len(kl) <= 32 else "auto", dtick=1 if len(kl) <= 32 else None)
    return fig
