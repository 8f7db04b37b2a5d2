"""The Explore page's shared views: where z sits on the latent map, the traversal grid, the interpolation.

Each is shared by every session (read-only): a class starts from the same z = 0, and a page switch
and back asks for the same figures again.
"""
from __future__ import annotations

import numpy as np
import torch

from explorer import state
from explorer.figures import (
    image_strip,
    labelled_grid_figure,
    latent_map_figure,
    scale_for_width,
    upscale_nearest,
    with_highlight_at,
)
from explorer.views.cache import shared_result
from vae_core import analysis
from vae_core.analysis.projection import MapProjection
from vae_core.data import ImageDataset
from vae_core.runs.checkpoint import Run


@shared_result(max_entries=16)
def where_map(run: Run, dataset: ImageDataset) -> tuple[dict, MapProjection]:
    """(the map of the encoded test images with a ring to move, as plotly JSON; the projection that drew it).

    A release then only moves the ring, instead of building and validating a plotly figure of thousands
    of points for each release."""
    mu, _ = state.cached_encoding(run, "test")
    projection = analysis.map_projection(mu)
    fig = latent_map_figure(projection(mu), dataset.test_y, dataset.class_names, axis_titles=projection.axis_titles,
                            highlight=np.zeros(2))  # fmt: skip
    fig.update_layout(height=360)
    return fig.to_plotly_json(), projection


@shared_result(max_entries=512)
def nearest_training_image(run: Run, dataset: ImageDataset, z: tuple[float, ...], label: int | None) -> tuple[np.ndarray, str]:
    """(the training image nearest to the decoding of z, blown up; its caption)."""
    index, distance = analysis.nearest_training_image(state.decode_point(run, z, label), dataset.train_x)
    i = int(index[0])
    picture = upscale_nearest(dataset.train_x[i], scale_for_width(dataset.image_shape[-1], 112))
    caption = (f"nearest training image #{i} (class {dataset.class_names[int(dataset.train_y[i])]}), "
               f"pixel distance {float(distance[0]):.2f}")  # fmt: skip
    return picture, caption


def where_figure_and_neighbour(run: Run, dataset: ImageDataset, z: list[float], label: int | None):
    """(the latent map with z marked, (the nearest training image, its caption))."""
    figure_json, projection = where_map(run, dataset)
    fig = with_highlight_at(figure_json, projection(np.asarray([z], dtype=np.float64))[0])
    return fig, nearest_training_image(run, dataset, tuple(z), label)


@shared_result(max_entries=64)
def traversal_figure(run: Run, z: tuple[float, ...], rows: tuple[int, ...], n_values: int, limit: float,
                     label: int | None):
    """The traversal grid around z: row u moves z_u from −limit to limit (prior σ units), the others stay."""
    values = np.linspace(-limit, limit, n_values)
    images = analysis.traversal_grid(run.model, torch.tensor(z), list(rows), values, label=label)
    scale = max(1, scale_for_width(images.shape[-1], 56))
    return labelled_grid_figure(
        images, [f"z{u}" for u in rows], [f"{v:+.1f}" for v in values], row_title="dimension", col_title="value (prior σ)",
        scale=scale,
    )  # fmt: skip


@shared_result(max_entries=32)
def interpolation_view(run: Run, dataset: ImageDataset, a: int, b: int, steps: int, method: str, label: int | None):
    """(images A and B, the decoded steps from μ(A) to μ(B), the map with the path)."""
    mu, _ = state.cached_encoding(run, "test")
    path = analysis.interpolate(mu[a], mu[b], steps, method)
    decoded = analysis.decode_points(run.model, path, label)
    scale = scale_for_width(decoded.shape[-1], 64)
    # The path is projected as the codes are, so it sits among them.
    projection = analysis.map_projection(mu)
    fig = latent_map_figure(projection(mu), dataset.test_y, dataset.class_names, axis_titles=projection.axis_titles,
                            path=projection(path))  # fmt: skip
    fig.update_layout(height=480)
    return image_strip(dataset.test_x[[a, b]], scale=scale, pad=2), image_strip(decoded, scale=scale, pad=2), fig
