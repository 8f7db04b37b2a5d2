"""Training figures: loss curves from the trainer's records, and one latent-map snapshot of a job.

Records follow docs/ARCHITECTURE.md; every loss is in nats per image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.latent import latent_scatter

CURVES = (
    ("neg_elbo", "−ELBO (lower is better)"),
    ("recon", "reconstruction −log p(x|z)"),
    ("kl", "KL(q(z|x) ‖ p(z))"),
)
TRAIN_STEP_COLOUR = "rgba(31, 119, 180, 0.25)"
TRAIN_COLOUR = "#1f77b4"
TEST_COLOUR = "#d62728"


@dataclass(frozen=True)
class _Series:
    """One line drawn in every panel: `records` give x (by `x_key`) and y (their `split`'s value)."""

    records: list[dict]
    split: str
    x_key: str
    name: str
    colour: str
    width: int
    group: str
    hover: str  # epoch format and trace label on hover
    mode: str = "lines+markers"
    trace: type = go.Scatter


def _series(steps: list[dict], history: list[dict]) -> tuple[_Series, ...]:
    epochs = [r for r in history if r.get("train")]
    tested = [r for r in epochs if r.get("test")]
    return (
        _Series(steps, "train", "epoch_progress", "train, per step", TRAIN_STEP_COLOUR, 1, "step",
                "epoch %{x:.2f}<br>%{y:.2f} nats per image<extra>train step</extra>", mode="lines", trace=go.Scattergl),
        _Series(epochs, "train", "epoch", "train, epoch mean", TRAIN_COLOUR, 2, "train",
                "epoch %{x}<br>%{y:.2f} nats per image<extra>train</extra>"),
        _Series(tested, "test", "epoch", "test", TEST_COLOUR, 2, "test",
                "epoch %{x}<br>%{y:.2f} nats per image<extra>test</extra>"),
    )  # fmt: skip


def training_curves(steps: list[dict], history: list[dict], is_variational: bool = True) -> go.Figure:
    """Three panels (−ELBO, reconstruction, KL) against epochs: train per step (faint), train and test per epoch.

    An AE has no KL and its "−ELBO" is its reconstruction term, so it gets the reconstruction panel only.
    """
    curves = CURVES if is_variational else CURVES[1:2]
    fig = make_subplots(rows=1, cols=len(curves), subplot_titles=[title for _, title in curves], horizontal_spacing=0.07)
    series = _series(steps, history)
    for col, (key, _) in enumerate(curves, start=1):
        first = col == 1
        for line in series:
            fig.add_trace(
                line.trace(
                    x=[r[line.x_key] for r in line.records], y=[r[line.split][key] for r in line.records],
                    mode=line.mode, name=line.name, line=dict(color=line.colour, width=line.width),
                    legendgroup=line.group, showlegend=first, hovertemplate=line.hover,
                ),
                row=1, col=col,
            )  # fmt: skip
        fig.update_xaxes(title_text="epoch", row=1, col=col)
        fig.update_yaxes(title_text="nats per image" if first else None, row=1, col=col)
    fig.update_layout(
        height=320, margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=-0.35, x=0),
        uirevision="training-curves",
    )  # fmt: skip
    return fig


def snapshot_figure(points, labels, class_names: list[str], epoch: float, axis_titles: tuple[str, str],
                    latent_dim: int) -> go.Figure:
    """The test-set codes after `epoch` epochs, on axes named by their projection (analysis.map_projection's
    axis_titles); symmetric axes of at least ±3 so early, tight maps look tight."""
    points = np.asarray(points, dtype=np.float64)
    titles = (axis_titles[0], "(unused)") if latent_dim == 1 else tuple(axis_titles)
    fig = latent_scatter(points, labels, class_names, axis_titles=titles, marker_size=4)
    finite = points[np.isfinite(points).all(1)]
    extent = max(3.0, 1.05 * float(np.abs(finite).max())) if finite.size else 3.0
    fig.update_xaxes(range=[-extent, extent])
    fig.update_yaxes(range=[-extent, extent])
    label = "before training" if epoch == 0 else f"after {epoch:g} epoch{'s' if epoch != 1 else ''}"
    fig.update_layout(title=f"Test-set codes μ, {label}", height=480, uirevision=None, dragmode="zoom")
    return fig
