"""Reconstruct: test images or an upload, through the model and back, with each term of the ELBO."""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from explorer import state
from explorer.sidebar import render_sidebar
from explorer.views.reconstruct import images_digest, reconstruction_view
from explorer.widgets.image_source import SOURCES, chosen_images
from vae_core.runs.matching import find_counterpart, run_infos

HELP = """
Each row is one image: the **input x**, the **reconstruction x̂** (the decoder's mean at z = μ(x)),
and reconstructions from **random draws z ~ q(z|x)**, the spread the encoder allows. The heatmaps show
**|x − x̂|** per pixel. The table gives each image's **reconstruction term −log p(x|z)**, the **KL** of q(z|x)
from the prior, **−ELBO** = their sum, and **−IWAE**, a tighter estimate of −log p(x). All are in
nats per image, and lower is better. An AE has only the reconstruction term: it has no prior, so it has no KL and no ELBO.
"""


def terms_table(terms: dict[str, torch.Tensor], is_variational: bool, row_labels: list[str], iw_samples: int) -> pd.DataFrame:
    """One row per image (and their mean); signs as the column names say, nats per image."""
    columns = {"reconstruction −log p(x|z)": terms["recon"]}
    if is_variational:
        columns["KL(q(z|x) ‖ p(z))"] = terms["kl"]
        columns["−ELBO"] = terms["neg_elbo"]
        if "nll_iw" in terms:
            columns[f"−IWAE (k = {iw_samples}) ≈ −log p(x)"] = terms["nll_iw"]
    table = pd.DataFrame({name: values.double().numpy() for name, values in columns.items()}, index=row_labels)
    if len(table) > 1:
        table.loc["mean"] = table.mean()
    return table


def kind_name(run) -> str:
    return "VAE" if run.model.is_variational else "AE"


def _compared_runs(run) -> list:
    """The selected run and, when the user keeps the box ticked, its AE or VAE of the same architecture (VAE first)."""
    runs = [run]
    counterpart = find_counterpart(run.path, run_infos(state.model_choices()))
    if counterpart is None:
        return runs
    compare = st.checkbox(
        f"Compare side by side with the {counterpart.model['kind'].upper()} of the same architecture, "
        f"{counterpart.name!r}", value=True, key="recon_compare",
    )  # fmt: skip
    if compare:
        try:
            runs.append(state.load_selected_run(counterpart.path))
        except ValueError as e:
            st.warning(f"The matching model {counterpart.name!r} cannot be loaded: {e}")
    # The VAE on the left, so the two pages read the same way whichever was selected.
    return sorted(runs, key=lambda r: not r.model.is_variational)


def _show_model(run, view, row_labels: list[str], iw_samples: int) -> None:
    report, grid, errors = view
    label = f"{kind_name(run)} · {run.name}"
    variational = run.model.is_variational
    st.subheader(label)
    st.plotly_chart(grid, key=f"recon_grid_{label}")
    if not variational:
        st.caption("An AE's code is a point, not a distribution: every draw is the same reconstruction.")
    st.markdown("**|x − x̂| per pixel** (0 = exact, 1 = opposite)")
    st.plotly_chart(errors, key=f"recon_error_{label}")
    st.markdown("**Per-image terms, nats per image (lower is better)**")
    st.dataframe(terms_table(report.terms, variational, row_labels, iw_samples).style.format("{:.2f}"))
    if not variational:
        st.caption("AE: no prior, so no KL, no −ELBO and no estimate of −log p(x); only the reconstruction term.")


def _equations() -> None:
    with st.expander("The equations"):
        st.latex(r"-\mathrm{ELBO}(x) = \underbrace{\mathbb{E}_{q(z|x)}\left[-\log p(x|z)\right]}_{\text{reconstruction}}"
                 r" + \underbrace{\mathrm{KL}\left(q(z|x)\,\|\,p(z)\right)}_{\text{KL}} \;\ge\; -\log p(x)")
        st.latex(r"-\mathrm{IWAE}_k(x) = -\log \frac{1}{k}\sum_{i=1}^{k} \frac{p(x|z_i)\,p(z_i)}{q(z_i|x)},"
                 r"\quad z_i \sim q(z|x), \qquad -\mathrm{ELBO} \ge -\mathrm{IWAE}_k \ge -\log p(x) \text{ (on average)}")
        st.caption("The reconstruction term in the table uses one draw z ~ q(z|x) per image, fixed by the seed.")


def main() -> None:
    render_sidebar(HELP)
    st.title("Reconstruct")
    try:
        run = state.current_run()
        dataset = state.current_dataset()
    except ValueError as e:
        st.error(str(e))
        return
    source = st.radio("Images", SOURCES, horizontal=True, key="recon_source")
    controls = st.columns(3)
    n_samples = controls[0].slider("Random draws z ~ q(z|x) per image", 1, 8, 4, key="recon_n_samples")
    iw_samples = controls[1].number_input(
        "IWAE samples k", min_value=1, max_value=1000, value=100, step=10, key="recon_iw_samples",
        help="−IWAE_k is an estimate of −log p(x) that tightens as k grows; it never exceeds −ELBO on average.",
    )  # fmt: skip
    seed = controls[2].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="recon_seed")
    images = chosen_images(source, run, dataset, int(seed))
    if images is None:
        return
    runs = _compared_runs(run)
    digest = images_digest(images.x, images.y)
    try:
        views = [reconstruction_view(r, images.x, images.y, digest, tuple(images.row_labels), int(n_samples),
                                     int(iw_samples), int(seed)) for r in runs]  # fmt: skip
    except ValueError as e:
        st.error(str(e))
        return
    for column, r, view in zip(st.columns(len(runs)), runs, views):
        with column:
            _show_model(r, view, images.row_labels, int(iw_samples))
    _equations()


main()
