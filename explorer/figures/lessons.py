"""Figures for the Learn page's lessons; each is a pure function of the numbers vae_core computed."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.latent import add_highlight, latent_scatter

CLICK_GRID_NAME = "click target"
CHOSEN_POINT_NAME = "decoded point"  # the ring on the point a lesson decodes


def clickable_map(points, labels, class_names: list[str], grid_xs, grid_ys, chosen=None,
                  axis_titles=("z₁", "z₂"), title: str = "") -> go.Figure:
    """A latent map with an invisible grid of click targets over the plane, so a click in a gap
    between clusters reports its (z₁, z₂); `chosen` [2] is ringed."""
    fig = latent_scatter(points, labels, class_names, axis_titles=axis_titles, marker_size=4)
    gx, gy = np.meshgrid(np.asarray(grid_xs, dtype=float), np.asarray(grid_ys, dtype=float))
    step = float(np.diff(grid_xs).mean()) if len(grid_xs) > 1 else 1.0
    fig.add_trace(
        go.Scatter(
            x=gx.ravel(), y=gy.ravel(), mode="markers", name=CLICK_GRID_NAME, showlegend=False,
            marker=dict(size=9, color="rgba(0,0,0,0)"),
            hovertemplate="decode (%{x:.2f}, %{y:.2f})<extra></extra>",
        )
    )  # fmt: skip
    if chosen is not None:
        add_highlight(fig, chosen, name=CHOSEN_POINT_NAME)
    pad = step / 2
    fig.update_xaxes(range=[float(grid_xs[0]) - pad, float(grid_xs[-1]) + pad])
    fig.update_yaxes(range=[float(grid_ys[0]) - pad, float(grid_ys[-1]) + pad])
    fig.update_layout(title=title or None, height=420, dragmode=False, uirevision=title or "clickable",
                      legend=dict(font=dict(size=10)), clickmode="event+select")
    return fig


def normal_densities_figure(xs, q, p, mu: float, sigma: float, kl: float) -> go.Figure:
    """q = N(μ, σ²) against the prior p = N(0, 1), with KL(q ‖ p) in the title."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=p, mode="lines", name="prior p(z) = N(0, 1)", line=dict(color="#555", dash="dash")))
    fig.add_trace(
        go.Scatter(x=xs, y=q, mode="lines", name=f"q(z) = N({mu:.2f}, {sigma:.2f}²)", fill="tozeroy",
                   line=dict(color="#1f77b4"))
    )  # fmt: skip
    fig.update_layout(
        title=f"KL(q ‖ p) = {kl:.3f} nats (≥ 0, zero only when q = p)",
        xaxis_title="z", yaxis_title="density", height=340, margin=dict(l=10, r=10, t=50, b=10),
    )  # fmt: skip
    return fig


def reparameterization_figure(eps, z, mu, sigma) -> go.Figure:
    """ε ~ N(0, I) around the origin and z = μ + ε·σ around μ, in the first two dimensions."""
    eps, z = np.asarray(eps, dtype=float), np.asarray(z, dtype=float)
    mu, sigma = np.asarray(mu, dtype=float).reshape(-1), np.asarray(sigma, dtype=float).reshape(-1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=eps[:, 0], y=eps[:, 1], mode="markers", name="ε ~ N(0, I)",
                             marker=dict(size=5, color="#bbbbbb")))
    fig.add_trace(go.Scatter(x=z[:, 0], y=z[:, 1], mode="markers", name="z = μ + ε·σ",
                             marker=dict(size=5, color="#1f77b4", opacity=0.8)))
    theta = np.linspace(0, 2 * np.pi, 64)
    fig.add_trace(go.Scatter(x=mu[0] + 2 * sigma[0] * np.cos(theta), y=mu[1] + 2 * sigma[1] * np.sin(theta),
                             mode="lines", name="μ ± 2σ", line=dict(color="#1f77b4", dash="dot")))
    fig.add_trace(go.Scatter(x=[mu[0]], y=[mu[1]], mode="markers", name="μ",
                             marker=dict(size=14, symbol="x", color="black")))
    fig.update_layout(xaxis_title="z₁", yaxis_title="z₂", height=420, margin=dict(l=10, r=10, t=30, b=10))
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def elbo_figure(log_px_given_z: float, kl: float, elbo: float, iwae: float, k: int) -> go.Figure:
    """E_q[log p(x|z)] − KL = ELBO as a waterfall, with the IWAE_k estimate beside it (nats, higher is better)."""
    fig = go.Figure()
    fig.add_trace(
        go.Waterfall(
            x=["E_q[log p(x|z)]", "− KL(q ‖ p)", "= ELBO"], y=[log_px_given_z, -kl, elbo],
            measure=["relative", "relative", "total"], name="ELBO",
            text=[f"{log_px_given_z:+.2f}", f"{-kl:+.2f}", f"{elbo:+.2f}"], textposition="outside",
            connector=dict(line=dict(color="#999")),
            decreasing=dict(marker=dict(color="#d62728")), increasing=dict(marker=dict(color="#2ca02c")),
            totals=dict(marker=dict(color="#1f77b4")),
        )
    )  # fmt: skip
    fig.add_trace(
        go.Bar(x=[f"IWAE, k = {k}"], y=[iwae], name="IWAE", marker_color="#9467bd",
               text=[f"{iwae:+.2f}"], textposition="outside")
    )  # fmt: skip
    low = min(log_px_given_z, elbo, iwae, 0.0)
    high = max(log_px_given_z, elbo, iwae, 0.0)
    span = max(high - low, 1.0)
    fig.update_layout(
        yaxis_title="nats per image (higher is better)", showlegend=False, height=380,
        margin=dict(l=10, r=10, t=30, b=10), yaxis_range=[low - 0.15 * span, high + 0.15 * span],
    )  # fmt: skip
    return fig


def gradient_norms_figure(grads: dict) -> go.Figure:
    """Gradient norms of −log p(x|z) reaching the encoder and decoder weights, with and without the trick.

    A missing gradient (None) is drawn as 0 and labelled 'None'."""
    fig = go.Figure()
    for key, name, colour in (("with_trick", "z = μ + ε·σ (trick)", "#2ca02c"), ("without_trick", "z sampled directly", "#d62728")):
        values = [grads[key]["encoder"], grads[key]["decoder"]]
        fig.add_trace(
            go.Bar(
                x=["encoder weights", "decoder weights"], y=[v or 0.0 for v in values], name=name,
                marker_color=colour, text=["None" if v is None else f"{v:.3g}" for v in values],
                textposition="outside",
            )
        )  # fmt: skip
    fig.update_layout(
        barmode="group", yaxis_title="‖∂(−log p(x|z)) / ∂weights‖", height=340, margin=dict(l=10, r=10, t=30, b=10)
    )  # fmt: skip
    return fig


def decoder_variance_figure(cs, recon, kl) -> go.Figure:
    """Test reconstruction term and KL (nats per image) of models trained at several decoder variances c."""
    cs = np.asarray(cs, dtype=float)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=cs, y=recon, mode="lines+markers", name="reconstruction −log p(x|z)"))
    fig.add_trace(go.Scatter(x=cs, y=kl, mode="lines+markers", name="KL(q(z|x) ‖ p(z))", yaxis="y2"))
    fig.update_layout(
        xaxis=dict(title="decoder variance c", type="log"),
        yaxis=dict(title="reconstruction, nats per image"),
        yaxis2=dict(title="KL, nats per image", overlaying="y", side="right"),
        height=340, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.3),
    )  # fmt: skip
    return fig
