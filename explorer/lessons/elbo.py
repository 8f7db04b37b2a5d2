"""Lesson 2: the ELBO of one image, term by term, with the IWAE bound above it."""
from __future__ import annotations

import streamlit as st

from explorer.figures.images import scale_for_width, upscale_nearest
from explorer.figures.lessons import elbo_figure
from explorer.lessons.models import require_vae_and_dataset
from vae_core.analysis import reconstruct
from vae_core.analysis.lessons import elbo_breakdown

TITLE = "2. The ELBO"
SAMPLE_COUNTS = [1, 10, 100, 1000]


def _new_draws() -> None:
    st.session_state["l2_seed"] = st.session_state.get("l2_seed", 0) + 1


def render() -> None:
    st.markdown(
        "log p(x) cannot be computed, but it can be bounded from below. For any q(z|x), Jensen's inequality "
        "gives the **evidence lower bound**: how well the decoder explains x from codes drawn from q, "
        "minus how far q strays from the prior. Training maximises it (the app shows **−ELBO**, lower is better). "
        "Averaging the weights p(x, z)/q(z|x) of k draws before taking the log gives a tighter bound, **IWAE_k**."
    )
    st.latex(r"\log p(x) \;\ge\; \mathrm{IWAE}_k(x) \;\ge\; \mathrm{ELBO}(x) = "
             r"\mathbb{E}_{q(z|x)}\left[\log p(x|z)\right] - \mathrm{KL}\left(q(z|x)\,\|\,p(z)\right)")
    found = require_vae_and_dataset()
    if found is None:
        return
    run, dataset = found
    left, right = st.columns([1, 2])
    with left:
        index = st.number_input(f"Test image (0 to {len(dataset.test_x) - 1})", min_value=0,
                                max_value=len(dataset.test_x) - 1, value=0, step=1, key="l2_index")
        k = st.select_slider("Draws z ~ q(z|x), k", SAMPLE_COUNTS, value=100, key="l2_k")
        st.button("Draw new samples", on_click=_new_draws, key="l2_redraw")
        x = dataset.test_x[int(index) : int(index) + 1]
        scale = scale_for_width(x.shape[-1], 120)
        a, b = st.columns(2)
        a.image(upscale_nearest(x[0], scale), caption="input x")
        b.image(upscale_nearest(reconstruct(run.model, x)[0], scale), caption="x̂ at z = μ")
        st.caption(f"model: {run.name}")
    terms = {name: float(v[0]) for name, v in elbo_breakdown(run.model, x, k=k, seed=st.session_state.get("l2_seed", 0)).items()}
    with right:
        st.plotly_chart(elbo_figure(terms["log_px_given_z"], terms["kl"], terms["elbo"], terms["iwae"], k), key="l2_elbo")
    lp, kl, elbo, iwae = terms["log_px_given_z"], terms["kl"], terms["elbo"], terms["iwae"]
    st.latex(
        rf"\underbrace{{{lp:.2f}}}_{{\mathbb{{E}}_q[\log p(x|z)]}} \;-\; \underbrace{{{kl:.2f}}}_{{\mathrm{{KL}}}}"
        rf"\;=\; \underbrace{{{elbo:.2f}}}_{{\mathrm{{ELBO}}}} \;\le\; \underbrace{{{iwae:.2f}}}_{{\mathrm{{IWAE}}_{{{k}}}}}"
        r"\quad\text{nats}"
    )
    st.markdown(
        f"In the app's usual sign: **−ELBO = {-elbo:.2f}** and **−IWAE_{k} = {-iwae:.2f}** nats for this image "
        "(lower is better). The expectation is estimated with the same k draws."
    )
    if iwae + 1e-6 < elbo:
        st.caption(
            f"With so few draws the estimates are noisy: here IWAE sits below the closed-form-KL ELBO. Against the "
            f"ELBO estimated from the same {k} draws ({terms['elbo_mc']:.2f}) it is never lower, and on average "
            "it is always above."
        )
    else:
        st.caption(f"IWAE − ELBO = {iwae - elbo:.2f} nats: the gap the single-sample bound leaves, closed by more draws.")
