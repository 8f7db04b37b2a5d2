"""Encoder and decoder bodies shared by the VAE, the AE and the conditional VAE, so they compare fairly.

A conditional model appends a one-hot label to the flattened features just before the encoder's
dense layers, and to z before the decoder's first dense layer; `n_conditions` is that vector's length.
"""
from __future__ import annotations

import torch
from torch import nn

from vae_core.models.config import ModelConfig


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def conv_spatial_sizes(size: int, n_layers: int) -> list[int]:
    """Side lengths after each 4×4, stride-2, padding-1 convolution: 28 -> 14 -> 7 -> 3."""
    sizes = [size]
    for _ in range(n_layers):
        sizes.append((sizes[-1] + 2 - 4) // 2 + 1)
    return sizes


class Encoder(nn.Module):
    """x [B, C, H, W] (and a condition [B, K]) -> features [B, n_out]; n_out is 2·d for a VAE (μ, log σ²), d for an AE.

    `body` is the feature extractor (Flatten, or convs then Flatten) followed by one dense MLP, its last module."""

    def __init__(self, cfg: ModelConfig, n_out: int, n_conditions: int = 0):
        super().__init__()
        ch, h, _ = cfg.image_shape
        if cfg.arch == "mlp":
            self.body = nn.Sequential(nn.Flatten(), mlp([cfg.n_pixels + n_conditions, *cfg.hidden_sizes, n_out]))
            return
        convs: list[nn.Module] = []
        for c_in, c_out in zip((ch, *cfg.conv_channels[:-1]), cfg.conv_channels):
            convs += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        side = conv_spatial_sizes(h, len(cfg.conv_channels))[-1]
        flat = cfg.conv_channels[-1] * side * side
        self.body = nn.Sequential(*convs, nn.Flatten(), mlp([flat + n_conditions, *cfg.hidden_sizes, n_out]))

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is None:
            return self.body(x)
        features = self.body[:-1](x)  # flattened pixels, or flattened conv features
        return self.body[-1](torch.cat([features, condition], dim=-1))


class Decoder(nn.Module):
    """z [B, d] (and a condition [B, K]) -> pixel parameters [B, C, H, W] before the output nonlinearity (logits)."""

    def __init__(self, cfg: ModelConfig, n_conditions: int = 0):
        super().__init__()
        ch, h, w = cfg.image_shape
        self.image_shape = cfg.image_shape
        hidden = list(reversed(cfg.hidden_sizes))
        if cfg.arch == "mlp":
            self.body = mlp([cfg.latent_dim + n_conditions, *hidden, cfg.n_pixels])
            self.unflatten = nn.Unflatten(1, (ch, h, w))
            return
        sides = conv_spatial_sizes(h, len(cfg.conv_channels))
        channels = list(reversed(cfg.conv_channels))
        side = sides[-1]
        dense = mlp([cfg.latent_dim + n_conditions, *hidden, channels[0] * side * side])
        layers: list[nn.Module] = [dense, nn.ReLU(), nn.Unflatten(1, (channels[0], side, side))]
        targets = list(reversed(sides[:-1]))
        outs = channels[1:] + [ch]
        for i, (c_in, c_out, target) in enumerate(zip(channels, outs, targets)):
            # A 4×4 stride-2 transposed conv doubles the side; odd targets (7 from 3) need one extra row.
            extra = target - 2 * side
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, output_padding=extra))
            if i < len(outs) - 1:
                layers.append(nn.ReLU())
            side = target
        self.body = nn.Sequential(*layers)
        self.unflatten = nn.Identity()

    def forward(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is not None:
            z = torch.cat([z, condition], dim=-1)
        return self.unflatten(self.body(z))
