"""Tile decoded images into one picture and write it as a PNG, atomically."""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def tile_images(images: torch.Tensor, n_cols: int | None = None, pad: int = 2) -> np.ndarray:
    """[N, C, H, W] in [0, 1] -> uint8 array [rows·(H+pad)+pad, cols·(W+pad)+pad, C] with a white border."""
    n, c, h, w = images.shape
    n_cols = n_cols or math.ceil(math.sqrt(n))
    n_rows = math.ceil(n / n_cols)
    canvas = torch.ones(c, n_rows * (h + pad) + pad, n_cols * (w + pad) + pad)
    for i in range(n):  # a handful of tiles, not a hot path
        r, col = divmod(i, n_cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        canvas[:, top : top + h, left : left + w] = images[i].clamp(0, 1)
    return (canvas.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def save_png(array: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Write a uint8 [H, W, C] array as PNG, nearest-neighbour upscaled, via a temp file and os.replace."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"output file: expected a name ending in .png, got {str(path)!r}")
    if not path.parent.exists():
        raise ValueError(f"output file: the folder {str(path.parent)!r} does not exist")
    image = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
