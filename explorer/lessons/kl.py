"""Lesson 3: KL(N(μ, σ²) ‖ N(0, 1)) in closed form, with both densities."""
from __future__ import annotations

import streamlit as st

from explorer.figures.lessons import normal_densities_figure
from vae_core.analysis.lessons import normal_densities, normal_kl_parts

TITLE = "3. KL of N(μ, σ²) from N(0, 1)"


def render() -> None:
    st.markdown(
        "The KL term of the ELBO compares each dimension's posterior q(z_u|x) = N(μ, σ²) with the prior N(0, 1). "
        "For two Gaussians it has a closed form, so no sampling is needed. Move μ and σ: the KL is zero only when "
        "q is the prior itself. It grows with μ² (codes far from the origin) and when σ shrinks (codes that are too precise)."
    )
    st.latex(r"\mathrm{KL}\left(\mathcal{N}(\mu, \sigma^2)\,\|\,\mathcal{N}(0, 1)\right) = "
             r"\tfrac{1}{2}\left(\mu^2 + \sigma^2 - 1 - \log \sigma^2\right)")
    left, right = st.columns([1, 2])
    with left:
        mu = st.slider("μ", -3.0, 3.0, 1.0, 0.05, key="l3_mu")
        sigma = st.slider("σ", 0.05, 3.0, 0.5, 0.05, key="l3_sigma")
        parts = normal_kl_parts(mu, sigma)
        kl = parts["total"]
        st.metric("KL(q ‖ p)", f"{kl:.3f} nats", help="≥ 0; in a VAE it is summed over the latent dimensions")
        st.latex(rf"\tfrac12\left({mu:.2f}^2 + {sigma:.2f}^2 - 1 - \log {sigma:.2f}^2\right) = {kl:.3f}")
        st.caption(
            f"The mean costs ½μ² = {parts['mean']:.3f} nats; the spread costs ½(σ² − 1 − log σ²) = "
            f"{parts['spread']:.3f} nats."
        )
    with right:
        xs, q, p = normal_densities(mu, sigma)
        st.plotly_chart(normal_densities_figure(xs, q, p, mu, sigma, kl), key="l3_densities")
