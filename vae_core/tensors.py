"""What vae_core hands back: plain CPU tensors that callers may edit, and where a model's weights live."""
from __future__ import annotations

import torch


def plain_cpu(t: torch.Tensor) -> torch.Tensor:
    """A CPU copy that is an ordinary tensor, not an inference tensor.

    Tensors made under inference_mode refuse in-place edits later (e.g. `z[dim] = slider_value`),
    so everything this package returns is copied out of inference mode first.
    """
    with torch.inference_mode(False):
        return t.to("cpu", copy=True)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's weights: where its inputs must go."""
    return next(model.parameters()).device
