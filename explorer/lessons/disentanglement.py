"""Lesson 6: a larger β pushes a VAE towards one latent dimension per ground-truth factor, at a price in −ELBO."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import state
from explorer.figures.disentanglement import factor_share_heatmap, sweep_scores_figure
from explorer.figures.images import labelled_grid_figure, scale_for_width
from vae_core.analysis import traversal_grid
from vae_core.sweep import dimension_roles, factor_shares, find_sweep_tables, markdown_table, read_sweep_table

TITLE = "6. Disentanglement and β"
TRAVERSAL_VALUES = np.linspace(-2.5, 2.5, 7)  # prior σ units; 7 keep each image readable in half the page
ACTIVE_KL = 0.05  # nats: a dimension below this carries next to nothing, so it has no factor of its own
SWEEP_COMMAND = "python3 -m vae_core sweep --dataset shapes --beta 1,8 --epochs 10 --out runs"


def _sweep_tables():
    """Every sweep table beside the shipped models and in the runs folder, by path."""
    return find_sweep_tables(state.assets_models_dir()) + find_sweep_tables(state.runs_dir())


def _model_column(table_path, table, row, image_index: int) -> None:
    """One sweep model: its traversals, one row per latent dimension (most KL first), and its factor map."""
    try:
        run = state.load_selected_run(table_path.parent / row.run)
        dataset, _ = state.dataset_for(run)
    except ValueError as e:
        st.error(f"{row.run}: {e}")
        return
    st.markdown(f"**β = {row.beta:g}** · `{row.run}`  \nMIG **{row.mig:.3f}** · FactorVAE **{row.factor_vae:.3f}** · "
                f"−ELBO {row.neg_elbo:.1f} · KL {row.kl:.1f} nats per image")  # fmt: skip
    roles = dimension_roles(row)
    names = table.factor_names
    labels = [f"z{r.dim} · {r.kl:.1f} nats" for r in roles]
    mu, _ = state.cached_encoding(run, "test")
    start = mu[min(image_index, len(mu) - 1)]
    images = traversal_grid(run.model, start, [r.dim for r in roles], TRAVERSAL_VALUES)
    fig = labelled_grid_figure(images, labels, [f"{v:+.1f}" for v in TRAVERSAL_VALUES], col_title="value (prior σ)",
                               scale=max(1, scale_for_width(dataset.image_shape[-1], 64)))  # fmt: skip
    # Half the page is narrower than the grid: the height follows the width plotly will give it.
    fig.update_layout(height=70 + 40 * len(roles))
    st.plotly_chart(fig, config={"displayModeBar": False}, key=f"l6_traversal_{row.run}")
    share = factor_shares(row)[[r.dim for r in roles]]
    gaps = " · ".join(f"{n} {g:.2f}" for n, g in zip(names, row.mig_per_factor))
    st.plotly_chart(factor_share_heatmap(share, names, labels, title="I(z_u; factor) / H(factor)"),
                    key=f"l6_share_{row.run}")  # fmt: skip
    best = "; ".join(f"z{r.dim} → {names[r.factor]} ({r.share:.2f})" for r in roles if r.kl >= ACTIVE_KL)
    st.caption(f"Most-explained factor of each dimension in use: {best or 'none'}. MIG gap per factor: {gaps}.")


def render() -> None:
    st.markdown(
        "The shapes data is made from five known **factors**: shape, scale, rotation and the x and y position. "
        "A code is *disentangled* when each factor lives in a latent dimension of its own. Nothing in the ELBO asks "
        "for that, but the prior N(0, I) has independent dimensions, and weighting its KL term by **β > 1** "
        "(the β-VAE) pays the encoder to use few, independent dimensions. The price: blurrier reconstructions "
        "and a worse −ELBO."
    )
    st.latex(r"\min\; \mathbb{E}_{q(z|x)}[-\log p(x|z)] + \beta\,\mathrm{KL}\big(q(z|x)\,\|\,\mathcal{N}(0, I)\big)")
    st.markdown(
        "The **mutual information gap** scores it: for each factor v_k, the information the best latent dimension "
        "holds about it minus the runner-up's, as a share of the factor's entropy, averaged over factors "
        "(1: each factor in one dimension; 0: spread out). The **FactorVAE score** holds one factor fixed in a batch "
        "and asks whether the dimension that varies least names that factor (1 is perfect; chance is 1/5)."
    )
    st.latex(r"\mathrm{MIG} = \frac{1}{K}\sum_{k=1}^{K} \frac{I(z_{j^{(1)}}; v_k) - I(z_{j^{(2)}}; v_k)}{H(v_k)}")
    paths = _sweep_tables()
    if not paths:
        st.info(
            "This lesson needs a β sweep on the shapes data (the shipped one is in assets/models). "
            f"Make one from the shell (a few minutes of CPU): `{SWEEP_COMMAND}`, then come back."
        )
        return
    path = st.selectbox("β sweep", paths, key="l6_sweep", format_func=lambda p: f"{p.name.removesuffix('.json')} ({p.parent.name})")
    try:
        table = read_sweep_table(path)
    except ValueError as e:
        st.error(str(e))
        return
    if not table.rows:
        st.info(f"{path.name} has no finished run yet.")
        return
    rows = table.rows
    st.plotly_chart(sweep_scores_figure([r.beta for r in rows], [r.mig for r in rows], [r.factor_vae for r in rows],
                                        [r.kl for r in rows]), key="l6_scores")  # fmt: skip
    st.markdown(markdown_table(table))
    st.caption(
        f"Test split of {table.dataset}: −ELBO, reconstruction and KL in nats per image (lower −ELBO is better; KL "
        f"without the β weight). MIG on {table.scores.mig_samples:,} fresh shapes; FactorVAE on "
        f"{table.scores.factor_vae_train:,}/{table.scores.factor_vae_eval:,} votes of {table.scores.factor_vae_batch} images."
    )
    st.subheader("Lowest β against highest β")
    st.markdown(
        "Each row moves one latent dimension from −2.5 to +2.5 around the code of a test image, the others fixed. "
        "Rows are sorted by the dimension's KL (nats it carries). Look for rows that move one thing only: a clean "
        "slide in x, a pure growth in scale. Dimensions with about 0 nats are switched off: they decode to the same "
        "image. Below each grid, the share of each factor's entropy that each dimension holds: a disentangled code "
        "has one dark cell per factor, each in a different row."
    )
    image_index = st.number_input("Start from test image", min_value=0, value=0, step=1, key="l6_image")
    shown = [rows[0], rows[-1]] if len(rows) > 1 else rows
    for column, row in zip(st.columns(len(shown)), shown):
        with column:
            _model_column(path, table, row, int(image_index))
    if len(rows) == 1:
        st.caption("This sweep has one β only; a sweep over several (e.g. --beta 1,8) shows the contrast.")
