"""Learn: short interactive lessons that follow the lecture, one at a time."""
from __future__ import annotations

import streamlit as st

from explorer.lessons import autoencoder_vs_vae, decoder_variance, disentanglement, elbo, kl, reparameterization
from explorer.sidebar import render_sidebar

HELP = """
Six short lessons, each with the equation from the lecture and something to move or click:
the AE's and the VAE's latent maps, the ELBO of one image, the KL of a Gaussian from the prior,
the reparameterization trick, the decoder variance c, and disentanglement across a β sweep. Numbers are in nats (per image where it is
an image's term). The lessons use the model picked in the sidebar when it fits, else a matching one.
"""
LESSONS = [autoencoder_vs_vae, elbo, kl, reparameterization, decoder_variance, disentanglement]
TITLES = [lesson.TITLE for lesson in LESSONS]


def main() -> None:
    render_sidebar(HELP)
    st.title("Learn")
    # Only the chosen lesson runs, so a slider in one lesson never recomputes the others.
    title = st.radio("Lesson", TITLES, horizontal=True, key="learn_lesson")
    lesson = LESSONS[TITLES.index(title)]
    st.header(title)
    lesson.render()


main()
