"""dSprites-style binary images of a square, an ellipse or a heart, with their ground-truth factors."""
from __future__ import annotations

import functools
import math

import torch

from vae_core.data.dataset import ImageDataset
from vae_core.data.split import split_dataset

SHAPE_NAMES = ["square", "ellipse", "heart"]
FACTOR_NAMES = ["shape", "scale", "rotation", "x", "y"]
MIN_SCALE, MAX_SCALE = 0.5, 1.0
HALF_SIDE = 0.16  # half the side of a scale-1 square, as a fraction of the image side
# Every shape at scale 1 fits in a circle of radius √2·HALF_SIDE, so no rotation leaves the frame.
MARGIN = math.sqrt(2) * HALF_SIDE
HEART_CENTRE = 0.118  # the heart curve's bounding box is centred this far above its origin
_CHUNK_VALUES = 1 << 20  # window pixels evaluated at once, to bound peak memory


def sample_factors(count: int, generator: torch.Generator) -> torch.Tensor:
    """Factors [count, 5] float32: shape index 0/1/2, scale in [0.5, 1], rotation in [0, 2π) radians,
    and x, y in [0, 1] (centre, from the left and from the top)."""
    shape = torch.randint(len(SHAPE_NAMES), (count,), generator=generator).float()
    u = torch.rand(count, 4, generator=generator)
    scale = MIN_SCALE + (MAX_SCALE - MIN_SCALE) * u[:, 0]
    return torch.stack([shape, scale, 2 * math.pi * u[:, 1], u[:, 2], u[:, 3]], dim=1)


def render_shapes(factors: torch.Tensor, size: int) -> torch.Tensor:
    """Binary images [N, 1, size, size] float32 drawn from factors [N, 5], a chunk of one shape at a time."""
    images = torch.zeros(len(factors), size, size)
    # Each shape fits in a window of this many pixels around its centre; only the window is evaluated.
    window = math.ceil(2 * MARGIN * size + 1)
    chunk = max(1, _CHUNK_VALUES // (window * window))
    for kind, inside in enumerate((_in_square, _in_ellipse, _in_heart)):
        members = (factors[:, 0] == kind).nonzero().squeeze(1)
        for start in range(0, len(members), chunk):
            index = members[start : start + chunk]
            _draw(images, index, factors[index], window, inside)
    return images.unsqueeze(1)


def _draw(images: torch.Tensor, index: torch.Tensor, factors: torch.Tensor, window: int, inside) -> None:
    size = images.shape[-1]
    scale, rotation, x, y = factors[:, 1:].unbind(1)
    cx = (MARGIN + (1 - 2 * MARGIN) * x) * size  # centre in pixels
    cy = (MARGIN + (1 - 2 * MARGIN) * y) * size
    left = (cx - window / 2).round().long().clamp(0, size - window)
    top = (cy - window / 2).round().long().clamp(0, size - window)
    steps = torch.arange(window)
    radius = (scale * HALF_SIDE * size)[:, None]
    dx = ((left[:, None] + steps + 0.5) - cx[:, None]) / radius  # [B, window]
    dy = ((top[:, None] + steps + 0.5) - cy[:, None]) / radius
    # Undo the rotation: the shape's own frame, where the scale-1 square is [-1, 1]².
    cos, sin = torch.cos(rotation)[:, None, None], torch.sin(rotation)[:, None, None]
    qx = cos * dx[:, None, :] + sin * dy[:, :, None]
    qy = cos * dy[:, :, None] - sin * dx[:, None, :]
    rows = top[:, None, None] + steps[None, :, None]
    cols = left[:, None, None] + steps[None, None, :]
    images[index[:, None, None], rows, cols] = inside(qx, qy).float()


def _in_square(qx: torch.Tensor, qy: torch.Tensor) -> torch.Tensor:
    return torch.maximum(qx.abs(), qy.abs()) <= 1


def _in_ellipse(qx: torch.Tensor, qy: torch.Tensor) -> torch.Tensor:
    return qx * qx + 4 * qy * qy <= 1


def _in_heart(qx: torch.Tensor, qy: torch.Tensor) -> torch.Tensor:
    # Implicit heart (x² + y² − 1)³ − x²y³ ≤ 0 with y pointing up, as image rows point down.
    hy = HEART_CENTRE - qy
    x2 = qx * qx
    r = x2 + hy * hy - 1
    return r * r * r <= x2 * hy * hy * hy


@functools.lru_cache(maxsize=4)
def _shapes_arrays(size: int, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    factors = sample_factors(count, torch.Generator().manual_seed(seed))
    return render_shapes(factors, size), factors


def load_shapes(size: int, count: int, seed: int, spec: str) -> ImageDataset:
    """`count` generated images of side `size`; labels are the shape index, factors ride along."""
    images, factors = _shapes_arrays(size, count, seed)
    labels = factors[:, 0].long()
    return split_dataset(spec, images, labels, SHAPE_NAMES, seed, factors=factors, factor_names=FACTOR_NAMES)
