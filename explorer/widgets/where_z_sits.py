""""Where z sits": the held z's values, its place among the encoded test images, the nearest training image.

Drawn into a slot (an st.empty outside the latent panel's fragment) that keeps its content through
the panel's drag-step reruns; the page forgets what the slot shows at every full run.
"""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.views.explore import where_figure_and_neighbour
from explorer.widgets import cvae_panel

HELD_Z_KEY = "explore_held_z"  # the z of the last release (or button): where "Where z sits" puts its marker
WHERE_SHOWN_KEY = "explore_where_shown"  # (run, held z, class) that "Where z sits" shows now; None after a full run


def forget_shown() -> None:
    """Called at every full run of the page, which rebuilds the page, the slot included."""
    st.session_state[WHERE_SHOWN_KEY] = None


def where_z_sits_in(slot, run, z: list[float]) -> None:
    """Draw "Where z sits" for z in `slot`, unless it shows z already."""
    shown = (state.run_key(run), tuple(z), cvae_panel.selected_class(run))
    if st.session_state.get(WHERE_SHOWN_KEY) == shown:
        return
    with slot.container():
        _where_z_sits(run, z)
    st.session_state[WHERE_SHOWN_KEY] = shown


def _where_z_sits(run, z: list[float]) -> None:
    values = ", ".join(f"{v:+.2f}" for v in z[:8]) + (", …" if len(z) > 8 else "")
    st.caption(f"z on the server: ({values})")
    try:
        dataset, _ = state.dataset_for(run)  # the page shows the note when it is a stand-in
    except ValueError:
        return  # the page says why
    fig, (picture, caption) = where_figure_and_neighbour(run, dataset, z, cvae_panel.selected_class(run))
    with st.expander("Where z sits: the latent map and the nearest training image", expanded=len(z) <= 2):
        left, right = st.columns([3, 1])
        left.plotly_chart(fig, key="explore_where_map")
        right.image(picture, caption=caption)
