"""Images for the screen: float [C, H, W] in [0, 1] -> crisp uint8 arrays, strips, grids and PNG bytes.

Arrays come back as [H, W] for one channel and [H, W, 3] for colour, which st.image and PIL accept.
Tiling is reshapes and transposes, never a loop over images.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image


def _as_float_array(images) -> np.ndarray:
    if isinstance(images, torch.Tensor):
        # A CPU float32 tensor without grad (a decode's output) is viewed as it is: every torch call is
        # a GIL hand-off, and on a class server each can wait behind other sessions' Python.
        plain = images.device.type == "cpu" and images.dtype == torch.float32 and not images.requires_grad
        images = images.numpy() if plain else images.detach().to("cpu", torch.float32).numpy()
    return np.asarray(images, dtype=np.float32)


def to_uint8(images) -> np.ndarray:
    """Images [..., C, H, W] in [0, 1] -> uint8 [..., H, W, C] (C = 1 or 3), clipped and rounded."""
    array = _as_float_array(images)
    if array.ndim < 3 or array.shape[-3] not in (1, 3):
        raise ValueError(f"images: expected shape [..., C, H, W] with C = 1 or 3, got {list(array.shape)}")
    array = np.moveaxis(array, -3, -1)
    # fmax then fmin: NaN -> 0, -inf -> 0, +inf -> 1 (np.nan_to_num and np.clip do the same in eight ufunc calls).
    return np.rint(np.fmin(np.fmax(array, 0.0), 1.0) * 255).astype(np.uint8)


def _squeeze_grey(array: np.ndarray) -> np.ndarray:
    return array[..., 0] if array.shape[-1] == 1 else array


def upscale_nearest(image, scale: int) -> np.ndarray:
    """One image [C, H, W] (tensor or array in [0, 1]) -> uint8 [H·scale, W·scale(, 3)], blocky not blurred."""
    if scale < 1:
        raise ValueError(f"upscale: expected a scale of at least 1, got {scale}")
    array = to_uint8(image)
    if array.ndim != 3:
        raise ValueError(f"upscale: expected one image [C, H, W], got shape {list(_as_float_array(image).shape)}")
    return upscale_pixels(array, scale)


def upscale_pixels(pixels: np.ndarray, scale: int) -> np.ndarray:
    """to_uint8's output for one image, [H, W, C] -> [H·scale, W·scale(, 3)]: upscale_nearest without
    converting again what is converted already."""
    return _squeeze_grey(pixels.repeat(scale, axis=0).repeat(scale, axis=1))


def scale_for_width(image_width: int, target_px: int = 280) -> int:
    """The integer upscale that brings an image of `image_width` pixels closest to target_px, at least 1."""
    return max(1, round(target_px / max(1, image_width)))


def image_grid(images, scale: int = 1, pad: int = 1, pad_value: int = 255) -> np.ndarray:
    """Images [R, V, C, H, W] -> one uint8 picture of R rows and V columns, separated by `pad` pixels."""
    array = to_uint8(images)  # [R, V, H, W, C]
    if array.ndim != 5:
        shape = list(_as_float_array(images).shape)
        raise ValueError(f"image grid: expected images [rows, columns, C, H, W], got shape {shape}")
    array = array.repeat(scale, axis=2).repeat(scale, axis=3)
    rows, cols, h, w, c = array.shape
    padded = np.full((rows, cols, h + pad, w + pad, c), pad_value, dtype=np.uint8)
    padded[:, :, :h, :w] = array
    # [R, H+p, V, W+p, C] -> one picture, with the trailing border trimmed.
    tiled = padded.transpose(0, 2, 1, 3, 4).reshape(rows * (h + pad), cols * (w + pad), c)
    return _squeeze_grey(tiled[: rows * (h + pad) - pad, : cols * (w + pad) - pad])


def image_strip(images, scale: int = 1, pad: int = 1, n_cols: int | None = None) -> np.ndarray:
    """Images [N, C, H, W] -> one uint8 row (or rows of n_cols, the last filled with white)."""
    array = _as_float_array(images)
    if array.ndim != 4:
        raise ValueError(f"image strip: expected images [N, C, H, W], got shape {list(array.shape)}")
    n = array.shape[0]
    n_cols = n if not n_cols else min(n_cols, n)
    n_rows = -(-n // max(1, n_cols))
    filled = np.ones((n_rows * n_cols, *array.shape[1:]), dtype=np.float32)
    filled[:n] = array
    return image_grid(filled.reshape(n_rows, n_cols, *array.shape[1:]), scale=scale, pad=pad)


def image_to_png_bytes(image, scale: int = 1) -> bytes:
    """One image [C, H, W] in [0, 1] (or a uint8 [H, W(, 3)] array) -> PNG bytes, nearest-neighbour upscaled."""
    array = image if isinstance(image, np.ndarray) and image.dtype == np.uint8 else upscale_nearest(image, 1)
    picture = Image.fromarray(array)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_uri(picture: np.ndarray) -> str:
    """A uint8 image [H, W(, 3)] as a data: URI of its PNG, for a plotly Image's `source`."""
    return "data:image/png;base64," + base64.b64encode(image_to_png_bytes(picture)).decode("ascii")


def labelled_grid_figure(
    images, row_labels: list[str], col_labels: list[str], row_title: str = "", col_title: str = "", scale: int = 2
) -> go.Figure:
    """A grid of images [R, V, C, H, W] as a figure with a label per row and column (e.g. a traversal grid)."""
    array = _as_float_array(images)
    if array.ndim != 5:
        raise ValueError(f"labelled grid: expected images [rows, columns, C, H, W], got shape {list(array.shape)}")
    rows, cols, _, h, w = array.shape
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ValueError(
            f"labelled grid: {rows} rows and {cols} columns need as many labels, got {len(row_labels)} and {len(col_labels)}"
        )
    pad = 1
    picture = image_grid(array, scale=scale, pad=pad)
    tile_h, tile_w = h * scale + pad, w * scale + pad
    # A PNG, not the pixel array: plotly writes an Image's z as raw bytes in the figure's JSON (1.8 MB for a
    # 10 × 9 traversal of 32×32 images, about 40 kB as PNG), which each rerun built, hashed and sent again.
    fig = go.Figure(go.Image(source=png_data_uri(picture), hoverinfo="skip"))
    fig.update_xaxes(
        tickvals=[(j + 0.5) * tile_w - pad for j in range(cols)], ticktext=col_labels, title=col_title, showgrid=False
    )
    fig.update_yaxes(
        tickvals=[(i + 0.5) * tile_h - pad for i in range(rows)], ticktext=row_labels, title=row_title, showgrid=False
    )
    fig.update_layout(
        height=min(900, 60 + rows * max(tile_h, 40)), margin=dict(l=10, r=10, t=10, b=10), dragmode=False
    )
    return fig
