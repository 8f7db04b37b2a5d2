"""The latent map's controls: which 2-D view of the codes, and which overlays on it."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer.views.hover_preview import PROJECTION_LABELS
from explorer.views.latent_map import TSNE_MAX_POINTS

AXES_VIEW = "two latent dimensions"


@dataclass(frozen=True)
class Overlays:
    """The overlays asked for; a count of 0 means that overlay is off."""

    n_ellipses: int
    show_prior: bool
    grid_n: int


def projection_choice(d: int) -> tuple[str, tuple[int, int] | None]:
    """The chosen projection and, for an axis view, the two latent dimensions on the axes."""
    if d <= 2:
        st.caption(f"d = {d}: the map shows the latent space itself, no projection needed.")
        return "identity", (0, 1) if d == 2 else None
    choice = st.radio(
        "Projection to 2-D",
        ["PCA", "t-SNE", AXES_VIEW],
        horizontal=True,
        key="latent_map_projection",
        help=f"PCA is fast and linear; t-SNE keeps neighbours together but distorts distances "
        f"(at most {TSNE_MAX_POINTS:,} points, takes a while the first time); two latent dimensions "
        "shows z_a against z_b, where ellipses, the prior and the manifold grid make sense.",
    )
    if choice == AXES_VIEW:
        c1, c2 = st.columns(2)
        dim_x = c1.selectbox("horizontal axis", list(range(d)), 0, format_func=lambda i: f"z{i}", key="latent_map_dim_x")
        dim_y = c2.selectbox("vertical axis", list(range(d)), 1, format_func=lambda i: f"z{i}", key="latent_map_dim_y")
        if dim_x == dim_y:
            raise ValueError("Pick two different latent dimensions for the axes.")
        return "axes", (dim_x, dim_y)
    return ("pca" if choice == "PCA" else "tsne"), None


def overlay_choices(is_variational: bool, method: str, axes, d: int) -> Overlays:
    """The overlay checkboxes; ellipses, the prior and the manifold grid only in a view of two latent dimensions."""
    axis_view = axes is not None
    st.markdown("**Overlays**")
    o1, o2, o3 = st.columns(3)
    # "and ...": a box ticked in another view stays ticked while disabled.
    ellipses_ok = is_variational and axis_view
    show_ellipses = o1.checkbox("posterior ellipses μ ± 2σ", key="latent_map_ellipses", disabled=not ellipses_ok)
    show_ellipses = show_ellipses and ellipses_ok
    n_ellipses = o1.slider("how many (random test images)", 5, 300, 50, key="latent_map_n_ellipses") if show_ellipses else 0
    show_prior = o2.checkbox("prior N(0, I) contours", key="latent_map_prior", disabled=not axis_view) and axis_view
    show_manifold = o3.checkbox("manifold grid of decoded images", key="latent_map_manifold", disabled=not axis_view)
    show_manifold = show_manifold and axis_view
    grid_n = o3.slider("grid size", 6, 30, 16, key="latent_map_grid_n") if show_manifold else 0
    if not is_variational:
        o1.caption("An AE has no q(z | x), so there is no σ to draw.")
    if not axis_view:
        st.caption(
            f"Ellipses, prior contours and the manifold grid live in the latent space itself; after "
            f"{PROJECTION_LABELS[method]} they have no faithful 2-D picture. Choose '{AXES_VIEW}' to see them."
        )
    elif d > 2 and show_manifold:
        st.caption("The manifold grid decodes the plane of the two axis dimensions with every other dimension at 0.")
    return Overlays(n_ellipses, show_prior, grid_n)
