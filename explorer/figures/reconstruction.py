"""Reconstruct-page figures: inputs beside their reconstructions, and |x − x̂| heatmaps."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from explorer.figures.images import labelled_grid_figure


def _numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float32)


def reconstruction_grid(inputs, mean, samples, row_labels: list[str], scale: int = 2) -> go.Figure:
    """One row per image: the input, the decoder mean x̂ at z = μ, then each stochastic z ~ q(z|x) reconstruction.

    inputs, mean [B, C, H, W]; samples [S, B, C, H, W]."""
    inputs, mean, samples = _numpy(inputs), _numpy(mean), _numpy(samples)
    columns = np.concatenate([inputs[:, None], mean[:, None], samples.transpose(1, 0, 2, 3, 4)], axis=1)
    col_labels = ["input x", "x̂ (z = μ)"] + [f"z ~ q #{i + 1}" for i in range(samples.shape[0])]
    return labelled_grid_figure(columns, row_labels, col_labels, scale=scale)


def error_heatmaps(error, labels: list[str], max_columns: int = 6) -> go.Figure:
    """|x − x̂| per pixel [B, H, W] (0 = exact, 1 = opposite), one panel per image on one colour scale."""
    error = _numpy(error)
    n = error.shape[0]
    cols = min(n, max_columns)
    rows = -(-n // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels, horizontal_spacing=0.02, vertical_spacing=0.08)
    for i in range(n):
        fig.add_trace(
            go.Heatmap(
                z=error[i], coloraxis="coloraxis",
                hovertemplate="row %{y}, column %{x}<br>|x − x̂| = %{z:.3f}<extra></extra>",
            ),
            row=i // cols + 1, col=i % cols + 1,
        )  # fmt: skip
    fig.update_xaxes(showticklabels=False)
    # Image rows run downwards, and pixels stay square.
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    for i in range(n):
        fig.update_yaxes(scaleanchor=f"x{i + 1 if i else ''}", row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(
        coloraxis=dict(colorscale="Inferno", cmin=0.0, cmax=1.0, colorbar=dict(title="|x − x̂|")),
        height=40 + rows * 170, margin=dict(l=10, r=10, t=30, b=10),
    )  # fmt: skip
    for annotation in fig.layout.annotations:
        annotation.font.size = 11
    return fig
