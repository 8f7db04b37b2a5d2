"""The lessons' shared views: lesson 1's clickable maps of a 2-D AE and VAE, their decodings, and the
PCA of the pixels. Shared by every session (read-only): a class opens the lesson on the same maps and
the same points."""
from __future__ import annotations

import numpy as np

from explorer import state
from explorer.figures.images import scale_for_width, upscale_nearest
from explorer.figures.latent import latent_scatter
from explorer.figures.lessons import clickable_map
from explorer.views.cache import shared_result
from vae_core.analysis import nearest_training_image
from vae_core.analysis.lessons import pixel_pca_2d
from vae_core.data import ImageDataset
from vae_core.runs.checkpoint import Run

GRID_POINTS = 25


def click_targets(points: np.ndarray, include_prior: bool) -> tuple[np.ndarray, np.ndarray]:
    """Click targets spanning the map with a margin (and ±3, the prior's bulk, for a VAE): xs, ys [GRID_POINTS]."""
    lo, hi = points.min(0), points.max(0)
    margin = 0.1 * (hi - lo) + 1e-6
    lo, hi = lo - margin, hi + margin
    if include_prior:
        lo, hi = np.minimum(lo, -3.0), np.maximum(hi, 3.0)
    return np.linspace(lo[0], hi[0], GRID_POINTS), np.linspace(lo[1], hi[1], GRID_POINTS)


@shared_result(max_entries=8)
def clickable_latent_map(run: Run, dataset: ImageDataset, label: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """(the run's test codes as a clickable map with its ring at (0, 0), as plotly JSON for with_highlight_at;
    the click targets' xs and ys). `label` ("AE" or "VAE") starts the title."""
    points = state.cached_encoding(run, "test")[0].numpy()
    xs, ys = click_targets(points, include_prior=run.model.is_variational)
    fig = clickable_map(points, dataset.test_y, dataset.class_names, xs, ys, chosen=(0.0, 0.0), title=f"{label}: {run.name}")
    return fig.to_plotly_json(), xs, ys


@shared_result(max_entries=256)
def decoded_and_distance(run: Run, dataset: ImageDataset, z1: float, z2: float) -> tuple[np.ndarray, float]:
    """(the decoding of (z1, z2), blown up for the page; its pixel distance to the nearest training image)."""
    image = state.decode_point(run, [z1, z2])
    _, distance = nearest_training_image(image, dataset.train_x)
    return upscale_nearest(image, scale_for_width(image.shape[-1], 140)), float(distance[0])


@shared_result(max_entries=4, show_spinner="Projecting the pixels…")
def pixel_pca(dataset: ImageDataset) -> np.ndarray:
    """The test images on the two leading principal components of their pixels, [N, 2]."""
    return pixel_pca_2d(dataset.test_x)


@shared_result(max_entries=4)
def pixel_pca_map(dataset: ImageDataset):
    """The scatter of pixel_pca(dataset) by class."""
    fig = latent_scatter(pixel_pca(dataset), dataset.test_y, dataset.class_names,
                         axis_titles=("PC 1 of the pixels", "PC 2 of the pixels"), marker_size=4)  # fmt: skip
    fig.update_layout(title="PCA of the pixels (no training)", height=420, uirevision="l1-pca")
    return fig
