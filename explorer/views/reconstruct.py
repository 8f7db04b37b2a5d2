"""The Reconstruct page's shared view: the report, the grid of reconstructions and the error heatmaps of
some images under one run."""
from __future__ import annotations

import hashlib

import torch

from explorer.figures.images import scale_for_width
from explorer.figures.reconstruction import error_heatmaps, reconstruction_grid
from explorer.views.cache import shared_result
from vae_core.analysis.reconstruction import reconstruction_report
from vae_core.runs.checkpoint import Run


def images_digest(x: torch.Tensor, y: torch.Tensor | None) -> str:
    """Names the images (and labels) a reconstruction is of, test images or an upload alike: shape and sha256."""
    digest = hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes())
    if y is not None:
        digest.update(y.detach().cpu().contiguous().numpy().tobytes())
    return f"{tuple(x.shape)}|{digest.hexdigest()}"


@shared_result(max_entries=32)
def reconstruction_view(run: Run, _x: torch.Tensor, _y: torch.Tensor | None, images: str, row_labels: tuple[str, ...],
                        n_samples: int, iw_samples: int, seed: int):
    """(the report, the grid of reconstructions, the error heatmaps) of images _x (labels _y) under `run`;
    `images` is their images_digest. A class opens the page on the same random test images, and the
    −IWAE estimate with k = 100 costs hundreds of decodes each time."""
    report = reconstruction_report(run.model, _x, n_samples=n_samples, iw_samples=iw_samples, seed=seed, y=_y)
    _, h, w = report.inputs.shape[1:]
    scale = max(1, min(scale_for_width(w, 72), 8))
    labels = list(row_labels)
    return (report, reconstruction_grid(report.inputs, report.mean, report.samples, labels, scale=scale),
            error_heatmaps(report.error, labels))
