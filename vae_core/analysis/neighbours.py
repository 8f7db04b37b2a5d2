"""Nearest training images in pixel space: has the model made something new, or copied?"""
from __future__ import annotations

import torch

from vae_core.tensors import plain_cpu


@torch.inference_mode()
def nearest_training_image(
    images: torch.Tensor, train_x: torch.Tensor, chunk_size: int = 8192
) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices [B], distances [B]) of each query's nearest training image in pixel L2 distance.

    A single query [C, H, W] is treated as a batch of one. Runs on train_x's device.
    """
    queries = images.unsqueeze(0) if images.dim() == train_x.dim() - 1 else images
    if queries.shape[1:] != train_x.shape[1:]:
        raise ValueError(
            f"nearest training image: query images of shape {list(queries.shape[1:])} "
            f"do not match training images of shape {list(train_x.shape[1:])}"
        )
    if train_x.shape[0] == 0:
        raise ValueError("nearest training image: the training set is empty")
    a = queries.to(train_x.device, torch.float32).flatten(1)  # [B, D]
    a_sq = a.pow(2).sum(1, keepdim=True)
    best_sq = torch.full((a.shape[0],), float("inf"), device=a.device)
    best_idx = torch.zeros(a.shape[0], dtype=torch.long, device=a.device)
    for start in range(0, train_x.shape[0], chunk_size):
        b = train_x[start : start + chunk_size].to(torch.float32).flatten(1)  # [n, D]
        # ||a − b||² = ||a||² + ||b||² − 2 a·b: one matmul per chunk instead of a loop over images.
        sq = a_sq + b.pow(2).sum(1)[None, :] - 2.0 * a @ b.T
        chunk_best, chunk_idx = sq.min(1)
        better = chunk_best < best_sq
        best_sq = torch.where(better, chunk_best, best_sq)
        best_idx = torch.where(better, chunk_idx + start, best_idx)
    # The expansion cancels badly near zero, so the winners' distances are computed directly.
    distances = (a - train_x[best_idx].to(torch.float32).flatten(1)).norm(dim=1)
    return plain_cpu(best_idx), plain_cpu(distances)
