"""The live latent pad: range inputs for z and the decoded image, updated while the user drags.

An `st.components.v2` component whose HTML, CSS and JS are read from latent_pad/ next to this file.
MLP decoders run in the browser (their weights, explorer/views/decoder_export.py, are sent once per
model and page); other decoders run on the server and the image comes back in the component's data,
one message in flight at a time.

Data to the browser: see `pad_data`. State from the browser, in st.session_state[key]:
  "z" = {"values": [d floats], "seq": int, "final": bool}  (final when a slider is released)
  "need_weights" = {"key": model key, "n": nonce}  (the page lacks the weights it was promised)
"""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import streamlit as st

ASSET_DIR = Path(__file__).resolve().parent / "latent_pad"
NAME = "vae_explorer.latent_pad"


def _read(name: str) -> str:
    return (ASSET_DIR / name).read_text(encoding="utf-8")


def component_js() -> str:
    """The component's module: the standalone decoder first, then the pad that uses it."""
    return _read("mlp_decode.js") + "\n" + _read("latent_pad.js")


_mount = st.components.v2.component(
    NAME, html=_read("latent_pad.html"), css=_read("latent_pad.css"), js=component_js(), isolate_styles=False
)


def image_payload(picture: np.ndarray, seq: int) -> dict:
    """A uint8 image [H, W] or [H, W, C] (not upscaled) as the pad's server image for message `seq`."""
    return {"seq": int(seq), "pixels": base64.b64encode(np.ascontiguousarray(picture, dtype=np.uint8).tobytes()).decode("ascii")}


def pad_data(*, model_key: str, mode: str, dims: list[int], z: list[float], z_version: int, image_shape,
             scale: int, ack: int, decoder: dict | None = None, image: dict | None = None, live: bool = False) -> dict:
    """The component's data. `decoder` only when the page may lack it; `image` only in server mode."""
    return {"model_key": model_key, "mode": mode, "dims": [int(u) for u in dims], "z": [float(v) for v in z],
            "z_version": int(z_version), "image_shape": [int(s) for s in image_shape], "scale": int(scale),
            "ack": int(ack), "decoder": decoder, "image": image, "live": bool(live)}


def latent_pad(data: dict, *, key: str, on_z_change, on_need_weights_change):
    """Mount the pad; the callbacks run before the (fragment) rerun its messages cause."""
    return _mount(key=key, data=data, on_z_change=on_z_change, on_need_weights_change=on_need_weights_change,
                  height="content")
