"""Figures for the disentanglement lesson: scores across a β sweep and which latent dimension holds which factor."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def sweep_scores_figure(betas, mig, factor_vae, kl) -> go.Figure:
    """MIG and the FactorVAE score (left axis, [0, 1]) and the test KL (right axis, nats per image) against β."""
    betas = np.asarray(betas, dtype=float)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=betas, y=mig, mode="lines+markers", name="MIG (higher: more disentangled)"))
    fig.add_trace(go.Scatter(x=betas, y=factor_vae, mode="lines+markers", name="FactorVAE score (chance = 1 / factors)"))
    fig.add_trace(go.Scatter(x=betas, y=kl, mode="lines+markers", name="KL(q(z|x) ‖ p(z)), nats per image",
                             yaxis="y2", line=dict(dash="dot", color="#7f7f7f")))
    positive = betas[betas > 0]
    fig.update_layout(
        xaxis=dict(title="β (weight of the KL term)", type="log" if len(positive) == len(betas) and len(betas) > 1 else "linear",
                   tickvals=betas, ticktext=[f"{b:g}" for b in betas]),
        yaxis=dict(title="score", range=[0, 1.05]),
        yaxis2=dict(title="KL, nats per image", overlaying="y", side="right", rangemode="tozero"),
        height=340, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.3),
    )  # fmt: skip
    return fig


def factor_share_heatmap(share, factor_names: list[str], dim_labels: list[str], title: str = "") -> go.Figure:
    """I(z_u; v_k) / H(v_k) for each latent dimension (row) and factor (column), in [0, 1]: one bright cell
    per column and per row is a disentangled code."""
    share = np.asarray(share, dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=share, x=list(factor_names), y=list(dim_labels), zmin=0, zmax=1, colorscale="Blues",
            text=[[f"{v:.2f}" for v in line] for line in share], texttemplate="%{text}",
            hovertemplate="%{y} · %{x}: %{z:.2f} of the factor's entropy<extra></extra>",
            colorbar=dict(title="I / H"),
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title or None, height=60 + 28 * len(dim_labels), margin=dict(l=10, r=10, t=40, b=10))
    return fig
