"""What the latent map's hover shows under the cursor, per view: the decoder in the browser, a grid
decoded on the server (conv decoders), or the nearest shown image's reconstruction (projections)."""
from __future__ import annotations

import numpy as np
import torch

from explorer.components.latent_map_hover import grid_preview, mlp_preview, nearest_preview
from explorer.views.cache import shared_result
from explorer.views.decoder_export import browser_decoder
from vae_core import analysis
from vae_core.data import ImageDataset
from vae_core.runs.checkpoint import Run

PROJECTION_LABELS = {"identity": "the latent space itself", "pca": "PCA", "tsne": "t-SNE"}
# Bytes of uint8 pixels in a conv model's hover grid: about 40×40 images of 32×32.
HOVER_GRID_BYTES = 1_600_000


def hover_grid_size(image_shape) -> int:
    """Cells per side of a conv model's hover grid: as fine as HOVER_GRID_BYTES of pixels allow, 8 to 48."""
    return int(np.clip(np.sqrt(HOVER_GRID_BYTES / np.prod(image_shape)), 8, 48))


@shared_result(max_entries=8, show_spinner="Decoding a grid of images for the hover preview…")
def hover_grid(run: Run, x_range: tuple, y_range: tuple, n: int, dims: tuple, label: int | None):
    """(images [n, n, C, H, W], xs [n], ys [n]) as numpy, decoded over a box of the plane of latent `dims`."""
    images, xs, ys = analysis.manifold_grid_in_box(run.model, x_range, y_range, n=n, dims=dims, label=label)
    return images.numpy(), xs.numpy(), ys.numpy()


@shared_result(max_entries=8, show_spinner="Reconstructing the shown images for the hover preview…")
def reconstructions(run: Run, dataset: ImageDataset, method: str, _index: np.ndarray) -> np.ndarray:
    """Reconstructions [M, C, H, W] of the test images a `method` map shows (their rows `_index`, which
    the run, the dataset and the method fix)."""
    rows = torch.from_numpy(_index)
    return analysis.reconstruct(run.model, dataset.test_x[rows], dataset.test_y[rows]).numpy()


def grid_preview_over(run: Run, axes, ranges, zoomed: bool, label: int | None) -> tuple[dict, str]:
    """A conv model's hover grid over ranges ((x0, x1), (y0, y1)) of the plane, and what it shows, in words."""
    n = hover_grid_size(run.model_config.image_shape)
    images, xs, ys = hover_grid(run, tuple(ranges[0]), tuple(ranges[1]), n, tuple(axes), label)
    others = " with every other dimension at 0" if run.model_config.latent_dim > 2 else ""
    where = "the part of the map in view" if zoomed else "the initial view; zoom or pan to decode a finer one"
    return grid_preview(images, xs, ys), (
        f"The nearest cell of a {n}×{n} grid decoded on the server over {where}{others} "
        "(a conv decoder is too big to run in the browser)."
    )


def hover_preview(run: Run, dataset: ImageDataset, method: str, axes, ranges, index, label: int | None) -> tuple[dict, str]:
    """(the component's preview, what the hover shows, in words) for one view of the map."""
    if axes is None:
        return nearest_preview(reconstructions(run, dataset, method, index)), (
            f"The plane is {PROJECTION_LABELS[method]} of the codes, not the latent space: hovering shows the "
            "reconstruction of the nearest encoded test image, not a decoding of the cursor's position."
        )
    d = run.model_config.latent_dim
    decoder = browser_decoder(run, label)
    if decoder is not None:
        others = " with every other dimension at 0" if d > 2 else ""
        return mlp_preview(decoder, axes, np.zeros(d)), f"Decoded in your browser at the cursor's z{others}."
    return grid_preview_over(run, axes, ranges, zoomed=False, label=label)
