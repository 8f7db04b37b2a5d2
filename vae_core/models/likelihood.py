"""The decoder's p(x|z): −log p(x|z) in nats per image, and the mean image E[x|z]."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def neg_log_likelihood(x: torch.Tensor, logits: torch.Tensor, likelihood: str, log_c: torch.Tensor) -> torch.Tensor:
    """−log p(x|z) summed over pixels, one value per image (nats, lower is better).

    `logits` are the decoder outputs before the sigmoid; leading batch dims are kept, the last
    three (C, H, W) are summed.
    bernoulli: BCE-with-logits, stable for large |logits|.
    gaussian:  p(x|z) = N(f(z), c·I) with f(z) = sigmoid(logits), so
               −log p(x|z) = ||x − f(z)||² / (2c) + (D/2)·log(2πc).
    """
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # mixed precision (--amp): the networks run in half precision, the loss does not
    if likelihood == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none")
        return per_pixel.flatten(-3).sum(-1)
    mean = torch.sigmoid(logits)
    n_pixels = math.prod(logits.shape[-3:])
    squared_error = (x - mean).pow(2).flatten(-3).sum(-1)
    return squared_error / (2 * log_c.exp()) + 0.5 * n_pixels * (math.log(2 * math.pi) + log_c)


def mean_image(logits: torch.Tensor) -> torch.Tensor:
    """E[x|z] in [0, 1]: sigmoid of the logits for every likelihood we offer."""
    return torch.sigmoid(logits)
