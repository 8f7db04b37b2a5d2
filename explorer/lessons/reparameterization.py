"""Lesson 4: z = μ + ε·σ makes the sample a function of μ and σ, so gradients reach the encoder."""
from __future__ import annotations

import streamlit as st

from explorer.figures.lessons import gradient_norms_figure, reparameterization_figure
from explorer.lessons.models import require_vae_and_dataset
from vae_core.analysis.lessons import reparameterization_gradients, reparameterized_points

TITLE = "4. The reparameterization trick"
CHECK_IMAGES = 16


def render() -> None:
    st.markdown(
        "The ELBO's first term is an expectation over z ~ q(z|x) = N(μ, σ²), and μ and σ come from the encoder. "
        "If z is *drawn* from N(μ, σ²), it is just a number to autograd: nothing connects it back to μ and σ, "
        "so the reconstruction error sends no gradient to the encoder. The trick draws the noise first, "
        "ε ~ N(0, I), which does not depend on any weight. z is then a smooth function of μ and σ:"
    )
    st.latex(r"z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon,\quad \varepsilon \sim \mathcal{N}(0, I)"
             r"\qquad\Longrightarrow\qquad \frac{\partial z}{\partial \mu} = 1,\quad \frac{\partial z}{\partial \sigma} = \varepsilon")
    left, right = st.columns([1, 2])
    with left:
        mu1 = st.slider("μ₁", -3.0, 3.0, 1.0, 0.1, key="l4_mu1")
        mu2 = st.slider("μ₂", -3.0, 3.0, -0.5, 0.1, key="l4_mu2")
        s1 = st.slider("σ₁", 0.05, 2.0, 0.5, 0.05, key="l4_s1")
        s2 = st.slider("σ₂", 0.05, 2.0, 0.25, 0.05, key="l4_s2")
        n = st.slider("points", 10, 1000, 200, 10, key="l4_n")
        seed = st.number_input("seed for ε", min_value=0, value=0, step=1, key="l4_seed")
    eps, z = reparameterized_points([mu1, mu2], [s1, s2], n, seed=int(seed))
    with right:
        st.plotly_chart(reparameterization_figure(eps, z, [mu1, mu2], [s1, s2]), key="l4_points")
        st.caption("The grey cloud ε never changes with μ or σ; the blue cloud z is the grey one, stretched by σ and moved to μ.")

    st.subheader("A live check on the model")
    found = require_vae_and_dataset(warn_stand_in=False)
    if found is None:
        return
    run, dataset = found
    grads = reparameterization_gradients(run.model, dataset.test_x[:CHECK_IMAGES], seed=int(seed))
    st.plotly_chart(gradient_norms_figure(grads), key="l4_gradients")
    with_trick, without = grads["with_trick"]["encoder"], grads["without_trick"]["encoder"]
    st.markdown(
        f"On {CHECK_IMAGES} test images through **{run.name}**, the gradient of the summed reconstruction term "
        f"−log p(x|z) (nats) reaches the encoder's weights with norm **{with_trick:.3g}** when z = μ + ε·σ, and "
        f"**{'None' if without is None else f'{without:.3g}'}** when z is sampled directly: no path leads back. "
        "The decoder is trained either way; only the encoder is cut off (it would learn from the KL term alone)."
    )
