"""Hover-to-decode latent map: a `st.components.v2` component drawn on a canvas, no build step, no CDN.

The browser draws the codes coloured by class (legend toggles classes, wheel zooms, drag pans) and,
as the cursor moves, the image for the point under it, from one of three previews:

- "mlp": the decoder's weights (vae_core.serving.decoder_export) decoded in JavaScript at the cursor's z;
- "grid": a dense grid of images decoded on the server, the nearest cell under the cursor (conv decoders);
- "nearest": one image per shown point (reconstructions), the nearest point's (projections, where the
  plane is not the latent space).

A click pins the point: the component draws a marker and sets its state "pinned" to
{"view_id", "x", "y", "index"}, which `latent_map_hover` returns while the view is the same.
With a grid preview, each zoom or pan sets the state "view_box" to {"view_id", "x": [x0, x1],
"y": [y0, y1]}, the visible part of the plane; `requested_view_box` reads it and `with_preview`
swaps in a grid decoded over it.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import numpy as np
import streamlit as st

from explorer.figures.images import to_uint8
from explorer.figures.latent import CLASS_COLOURS

ASSETS = Path(__file__).resolve().parent / "latent_map_hover"
# The Explore page's in-browser MLP decoder; prepended to our module, so both pages decode alike.
MLP_DECODE_JS = Path(__file__).resolve().parent / "latent_pad" / "mlp_decode.js"
COMPONENT_NAME = "vae_explorer.latent_map_hover"
PREVIEW_KINDS = ("mlp", "grid", "nearest")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


_component = st.components.v2.component(
    COMPONENT_NAME,
    html=_read(ASSETS / "latent_map_hover.html"),
    css=_read(ASSETS / "latent_map_hover.css"),
    js=_read(MLP_DECODE_JS) + "\n" + _read(ASSETS / "latent_map_hover.js"),
)


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def _atlas(images) -> tuple[str, list[int]]:
    """Images [..., C, H, W] in [0, 1] -> (base64 uint8 [..., H, W, C], [H, W, C])."""
    array = to_uint8(images)
    return _b64(array, "u1"), list(array.shape[-3:])


def mlp_preview(decoder_export: dict, dims: tuple[int, int], base_z) -> dict:
    """Decode in the browser: vae_core.serving.decoder_export.export_mlp_decoder(model), the two latent dims on
    the axes, and the latent [d] that holds the other dims."""
    shape = decoder_export["image_shape"]
    return {"kind": "mlp", "decoder": decoder_export, "dims": [int(dims[0]), int(dims[1])],
            "base_z": [float(v) for v in np.asarray(base_z, dtype=np.float64).reshape(-1)],
            "shape": [int(shape[1]), int(shape[2]), int(shape[0])]}  # fmt: skip


def grid_preview(images, xs, ys) -> dict:
    """The nearest cell of analysis.manifold_grid_in_box's (images [n, n, C, H, W], xs [n], ys [n])."""
    atlas, shape = _atlas(images)
    return {"kind": "grid", "atlas": atlas, "shape": shape,
            "xs": [float(v) for v in np.asarray(xs).reshape(-1)], "ys": [float(v) for v in np.asarray(ys).reshape(-1)]}  # fmt: skip


def nearest_preview(images) -> dict:
    """The nearest shown point's image: images [M, C, H, W] in the order of the map's points."""
    atlas, shape = _atlas(images)
    return {"kind": "nearest", "atlas": atlas, "shape": shape}


def map_payload(
    view_id: str,
    points,
    labels,
    class_names: list[str],
    index,
    preview: dict,
    axis_titles: tuple[str, str],
    ranges,
    hover_text: str,
    ellipses=None,
    prior_radii: tuple[float, ...] = (),
    manifold_png: bytes | None = None,
    manifold_box=None,
) -> dict:
    """The component's data: points [M, 2] with labels [M] and dataset indices [M], the preview, and overlays.

    ellipses [K, P, 2] are closed outlines; prior_radii are circles around 0; manifold_png is drawn in
    manifold_box ((x0, x1), (y0, y1)); ranges ((x0, x1), (y0, y1)) is the initial view.
    """
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"latent map: expected points of shape [M, 2], got {list(points.shape)}")
    if preview.get("kind") not in PREVIEW_KINDS:
        raise ValueError(f"latent map: preview kind must be one of {PREVIEW_KINDS}, got {preview.get('kind')!r}")
    labels = np.asarray(labels, dtype=np.int32).reshape(-1)
    index = np.asarray(index, dtype=np.int32).reshape(-1)
    data = {
        "view_id": view_id,
        "n": int(points.shape[0]),
        "points": _b64(points, "<f4"),
        "labels": _b64(labels, "<i4"),
        "index": _b64(index, "<i4"),
        "classes": [{"name": name, "colour": CLASS_COLOURS[i % len(CLASS_COLOURS)]} for i, name in enumerate(class_names)],
        "axis_titles": list(axis_titles),
        "ranges": [[float(v) for v in r] for r in ranges],
        "preview": preview,
        "hover_text": hover_text,
        "ellipses": None if ellipses is None else _b64(np.asarray(ellipses, dtype=np.float32), "<f4"),
        "ellipse_points": 0 if ellipses is None else int(np.asarray(ellipses).shape[1]),
        "prior_radii": [float(r) for r in prior_radii],
        "manifold_png": None if manifold_png is None else base64.b64encode(manifold_png).decode("ascii"),
        "manifold_box": None if manifold_box is None else [[float(v) for v in r] for r in manifold_box],
    }
    # The browser re-parses points and images only when this changes (the component is re-run on every rerun).
    data["data_id"] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    data["pinned"] = None
    return data


def with_pinned(data: dict, pinned: dict | None) -> dict:
    """`data` with a session's pinned point, when it belongs to this view (a pin from another view is dropped).

    `data` itself is not changed: one map's data is shared by every session."""
    ours = isinstance(pinned, dict) and pinned.get("view_id") == data["view_id"]
    return {**data, "pinned": pinned if ours else None}


def with_preview(data: dict, preview: dict, hover_text: str) -> dict:
    """`data` with another preview (a grid over the zoomed view); only the preview changes in the browser."""
    if preview.get("kind") not in PREVIEW_KINDS:
        raise ValueError(f"latent map: preview kind must be one of {PREVIEW_KINDS}, got {preview.get('kind')!r}")
    swapped = {**data, "preview": preview, "hover_text": hover_text}
    digest = hashlib.sha256(data["data_id"].encode())
    digest.update(hashlib.sha256(json.dumps(preview, sort_keys=True).encode()).digest())
    swapped["data_id"] = digest.hexdigest()[:16]
    return swapped


def requested_view_box(component_state, view_id: str):
    """The visible box ((x0, x1), (y0, y1)) the browser last reported for this view, or None.

    The values come from the browser, so anything but finite, ordered, sensibly sized ranges is ignored."""
    box = component_state.get("view_box") if component_state is not None else None
    if not isinstance(box, dict) or box.get("view_id") != view_id:
        return None
    try:
        (x0, x1), (y0, y1) = ([float(v) for v in box[axis]] for axis in ("x", "y"))
    except (KeyError, TypeError, ValueError):
        return None
    ranges = ((x0, x1), (y0, y1))
    if not all(np.isfinite([x0, x1, y0, y1])) or any(not 1e-6 < hi - lo < 1e6 for lo, hi in ranges):
        return None
    return ranges


def latent_map_hover(data: dict, *, key: str, height: int | str = "content") -> dict | None:
    """Mount the map; returns the pinned point {"view_id", "x", "y", "index"} of this view, or None."""
    result = _component(key=key, data=data, height=height, default={"pinned": None, "view_box": None},
                        on_pinned_change=lambda: None, on_view_box_change=lambda: None)
    pinned = getattr(result, "pinned", None) if result is not None else None
    if isinstance(pinned, dict) and pinned.get("view_id") == data["view_id"]:
        return pinned
    return None
