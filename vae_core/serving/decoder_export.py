"""Export an MLP decoder's weights for a browser to decode with: float32 little-endian bytes, base64.

The layout is what torch.nn.Linear stores: weight [out, in] row-major, then bias [out]. The decoder
is Linear (+ReLU) ... Linear -> logits [C·H·W] in C, H, W order; the mean image is sigmoid(logits).

A conditional VAE's decoder reads [z, onehot(y)]. For one fixed class k the first layer is
W·[z, e_k] + b = W_z·z + (b + W[:, d + k]), so p(x|z, y = k) exports as an ordinary decoder of z
whose first bias carries the class: the browser needs no notion of labels.
"""
from __future__ import annotations

import base64
import hashlib

import numpy as np
import torch
from torch import nn

FORMAT = "mlp-decoder/float32-le/v1"


def _float32_le_base64(t: torch.Tensor) -> str:
    return base64.b64encode(t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()).decode("ascii")


def _mlp_layers(model) -> list[nn.Linear]:
    """The decoder's Linear layers in order; ValueError unless it is exactly Linear, ReLU, …, Linear."""
    arch = getattr(getattr(model, "config", None), "arch", None)
    body = getattr(getattr(model, "decoder", None), "body", None)
    if arch != "mlp" or not isinstance(body, nn.Sequential):
        raise ValueError(f"decoder export: only MLP decoders can run in the browser; this model's decoder is {arch!r}")
    modules = list(body)
    linears = modules[0::2]
    relus = modules[1::2]
    if (not linears or len(modules) != 2 * len(linears) - 1 or not all(isinstance(m, nn.Linear) for m in linears)
            or not all(isinstance(m, nn.ReLU) for m in relus)):
        raise ValueError("decoder export: expected the decoder to be Linear layers with ReLU between them")
    return linears


def _first_layer(model, linear: nn.Linear, label: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first layer's (weight, bias) as a function of z alone; for a conditional model, at class `label`."""
    if not model.is_conditional:
        return linear.weight, linear.bias
    k = model.config.num_classes
    if label is None or not 0 <= int(label) < k:
        raise ValueError(f"decoder export: a conditional decoder exports for one class, 0 to {k - 1}; got {label!r}")
    d = model.config.latent_dim
    return linear.weight[:, :d], linear.bias + linear.weight[:, d + int(label)]


def export_mlp_decoder(model, label: int | None = None) -> dict:
    """The decoder as JSON-safe data: layer shapes and base64 float32 weights, plus a sha256 of all bytes.

    A conditional VAE's decoder is exported for the class `label`. Raises ValueError for a decoder that
    is not an MLP (conv decoders decode on the server), or a conditional one without a valid label.
    """
    linears = _mlp_layers(model)
    layers, digest = [], hashlib.sha256()
    for i, linear in enumerate(linears):
        weight, bias = _first_layer(model, linear, label) if i == 0 else (linear.weight, linear.bias)
        weight, bias = _float32_le_base64(weight), _float32_le_base64(bias)
        digest.update(weight.encode())
        digest.update(bias.encode())
        layers.append({"in": model.config.latent_dim if i == 0 else linear.in_features, "out": linear.out_features,
                       "activation": "relu" if i < len(linears) - 1 else "sigmoid", "weight": weight, "bias": bias})
    image_shape = [int(s) for s in model.config.image_shape]
    if linears[-1].out_features != int(np.prod(image_shape)):
        raise ValueError(f"decoder export: the last layer has {linears[-1].out_features} outputs, not C·H·W of {image_shape}")
    return {"format": FORMAT, "latent_dim": model.config.latent_dim, "image_shape": image_shape,
            "layers": layers, "sha256": digest.hexdigest()}
