"""Training figures: loss curves from the trainer's records, and one latent-map snapshot of a job.

Records follow docs/ARCHITECTURE.md; every loss is in nats per image.
"""
from __future__ import annotations

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


def training_curves(steps: list[dict], history: list[dict], is_variational: bool = True) -> go.Figure:
    """Three panels (−ELBO, reconstruction, KL) against epochs: train per step (faint), train and test per epoch.

    An AE has no KL and its "−ELBO" is its reconstruction term, so it gets the reconstruction panel only.
    """
    curves = CURVES if is_variational else CURVES[1:2]
    fig = make_subplots(rows=1, cols=len(curves), subplot_titles=[title for _, title in curves], horizontal_spacing=0.07)
    step_x = [r["epoch_progress"] for r in steps]
    epochs = [r for r in history if r.get("train")]
    epoch_x = [r["epoch"] for r in epochs]
    tested = [r for r in epochs if r.get("test")]
    for col, (key, _) in enumerate(curves, start=1):
        first = col == 1
        fig.add_trace(
            go.Scattergl(
                x=step_x, y=[r["train"][key] for r in steps], mode="lines", name="train, per step",
                line=dict(color=TRAIN_STEP_COLOUR, width=1), legendgroup="step", showlegend=first,
                hovertemplate="epoch %{x:.2f}<br>%{y:.2f} nats per image<extra>train step</extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=epoch_x, y=[r["train"][key] for r in epochs], mode="lines+markers", name="train, epoch mean",
                line=dict(color=TRAIN_COLOUR, width=2), legendgroup="train", showlegend=first,
                hovertemplate="epoch %{x}<br>%{y:.2f} nats per image<extra>train</extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=[r["epoch"] for r in tested], y=[r["test"][key] for r in tested], mode="lines+markers",
                name="test", line=dict(color=TEST_COLOUR, width=2), legendgroup="test", showlegend=first,
                hovertemplate="epoch %{x}<br>%{y:.2f} nats per image<extra>test</extra>",
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


def snapshot_figure(points, labels, class_names: list[str], epoch: float, method: str, latent_dim: int) -> go.Figure:
    """The test-set codes after `epoch` epochs; symmetric axes of at least ±3 so early, tight maps look tight."""
    points = np.asarray(points, dtype=np.float64)
    titles = ("z₁", "z₂") if method == "identity" else ("PC 1 of μ", "PC 2 of μ")
    if method == "identity" and latent_dim == 1:
        titles = ("z₁", "(unused)")
    fig = latent_scatter(points, labels, class_names, axis_titles=titles, marker_size=4)
    finite = points[np.isfinite(points).all(1)]
    extent = max(3.0, 1.05 * float(np.abs(finite).max())) if finite.size else 3.0
    fig.update_xaxes(range=[-extent, extent])
    fig.update_yaxes(range=[-extent, extent])
    label = "before training" if epoch == 0 else f"after {epoch:g} epoch{'s' if epoch != 1 else ''}"
    fig.update_layout(title=f"Test-set codes μ, {label}", height=480, uirevision=None, dragmode="zoom")
    return fig
