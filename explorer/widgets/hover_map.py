"""The latent map's hover map and the pinned point's details: a fragment, so a click reruns only this part."""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.components.latent_map_hover import latent_map_hover, requested_view_box, with_preview
from explorer.figures import scale_for_width, upscale_nearest
from explorer.server.torch_threads import for_interactive_work
from explorer.views.hover_preview import grid_preview_over
from explorer.widgets import cvae_panel
from vae_core import analysis

HOVER_KEY = "latent_map_hover"
CLASS_KEY = "latent_map_cvae_class"
PINNED_KEY = "latent_map_pinned"


def _zoomed_grid(run, data: dict, axes) -> dict:
    """The map's data, its grid preview decoded again over the part of the plane the browser shows."""
    if data["preview"]["kind"] != "grid":
        return data
    box = requested_view_box(st.session_state.get(HOVER_KEY), data["view_id"])
    if box is None:
        return data
    return with_preview(data, *grid_preview_over(run, axes, box, zoomed=True,
                                                 label=cvae_panel.selected_class(run, CLASS_KEY)))


def pinned_latent(pinned: dict, axes, d: int, mu):
    """The z [d] of a pinned point: the plane's point (axis views, other dims 0) or the pinned image's μ."""
    if axes is None:
        return mu[int(pinned["index"])].float().clone()
    return analysis.point_in_plane(d, tuple(axes), float(pinned["x"]), float(pinned["y"]))


@st.fragment
def hover_map(run, dataset, data: dict, axes, mu) -> None:
    """The hover map and the pinned point's details."""
    for_interactive_work()
    data = _zoomed_grid(run, data, axes)
    pinned = latent_map_hover(data, key=HOVER_KEY)
    stored = st.session_state.get(PINNED_KEY)
    if pinned is None and isinstance(stored, dict) and stored.get("view_id") == data["view_id"]:
        pinned = stored  # the map was remounted (another page in between): its pin is ours
    st.session_state[PINNED_KEY] = pinned
    st.caption(data["hover_text"])
    if pinned is None:
        st.caption("Click the map to pin a point: its z and the nearest training image appear here.")
        return
    _pinned_point(run, dataset, pinned, axes, mu)


def _pinned_point(run, dataset, pinned: dict, axes, mu) -> None:
    d = mu.shape[1]
    z = pinned_latent(pinned, axes, d, mu)
    # A cvae decodes a point of the plane as the picked class, and a pinned image's μ with its own label.
    y = cvae_panel.selected_class(run, CLASS_KEY) if axes is not None else dataset.test_y[int(pinned["index"])].reshape(1)
    image = state.decode_point(run, z, y)
    near, dist = analysis.nearest_training_image(image, dataset.train_x)
    near = int(near[0])
    values = ", ".join(f"{v:+.3f}" for v in z.tolist()) if d <= 16 else f"{d} values"
    where = "" if axes is None else f" at ({float(pinned['x']):+.3f}, {float(pinned['y']):+.3f}) on the map"
    st.markdown(f"**Pinned z** = ({values}){where}")
    scale = scale_for_width(dataset.image_shape[-1], 140)
    c1, c2, c3 = st.columns([1, 1, 2])
    if axes is None:
        index = int(pinned["index"])
        label = dataset.class_names[int(dataset.test_y[index])]
        c1.image(upscale_nearest(image, scale), caption=f"reconstruction of test image #{index} (class {label}), z = μ(x)")
    else:
        c1.image(upscale_nearest(image, scale), caption="decoder mean E[x | z] at the pinned z")
    near_class = f" (class {dataset.class_names[int(dataset.train_y[near])]})" if dataset.has_labels else ""
    c2.image(upscale_nearest(dataset.train_x[near], scale), caption=f"nearest training image #{near}{near_class}")
    c3.metric("pixel distance to the nearest training image (L2)", f"{float(dist[0]):.2f}")
    c3.caption("A small distance means the decoder reproduces a training image; a large one, something new.")
