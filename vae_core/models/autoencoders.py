"""The VAE and the plain AE. One forward pass reads like the lecture's equations.

VAE:  (μ, log σ²) = encoder(x);  z = μ + ε·σ, ε ~ N(0, I);  −ELBO = −log p(x|z) + KL(q(z|x) || p(z)).
AE:   z = encoder(x);  loss = −log p(x|z)  (no prior, no KL, and so no bound on log p(x)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vae_core.models.config import ModelConfig
from vae_core.models.likelihood import mean_image, neg_log_likelihood
from vae_core.models.networks import Decoder, Encoder


@dataclass
class ForwardTerms:
    """Per-image terms of one forward pass, all in nats, shape [B] unless noted.

    recon = −log p(x|z) (lower is better); kl = KL(q(z|x) || p(z)) ≥ 0;
    neg_elbo = recon + kl (an upper bound on −log p(x) for a VAE; for an AE it is recon alone).
    """

    recon: torch.Tensor
    kl: torch.Tensor
    kl_per_dim: torch.Tensor  # [B, d]
    neg_elbo: torch.Tensor
    mu: torch.Tensor  # [B, d]
    logvar: torch.Tensor | None  # [B, d]; None for an AE
    z: torch.Tensor  # [B, d]
    logits: torch.Tensor  # [B, C, H, W], decoder output before the sigmoid


def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) || N(0, 1)) for each dimension, nats: ½(μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


class _Autoencoder(nn.Module):
    is_variational: bool

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.decoder = Decoder(config)
        # One scalar log c. Fixed ('gaussian') it is a buffer; learned ('gaussian-learned') a parameter.
        log_c = torch.tensor(math.log(config.c), dtype=torch.float32)
        if config.likelihood == "gaussian-learned":
            self.log_c = nn.Parameter(log_c)
        else:
            self.register_buffer("log_c", log_c)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents [B, d] -> mean images E[x|z], [B, C, H, W] in [0, 1]."""
        return mean_image(self.decoder(z))

    def neg_log_likelihood(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """−log p(x|z) per image, nats; `logits` may carry extra leading sample dims."""
        return neg_log_likelihood(x, logits, self.config.likelihood, self.log_c)


class VAE(_Autoencoder):
    is_variational = True

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.encoder = Encoder(config, 2 * config.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (μ, log σ²) of q(z|x), each [B, d]."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, n_samples: int | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = μ + ε·σ with ε ~ N(0, I): the sample stays differentiable in μ and σ.

        With `n_samples`, returns [n_samples, B, d]."""
        std = torch.exp(0.5 * logvar)
        shape = mu.shape if n_samples is None else (n_samples, *mu.shape)
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device, generator=generator)
        return mu + eps * std

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ForwardTerms:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator=generator)
        logits = self.decode_logits(z)
        recon = self.neg_log_likelihood(x, logits)
        kl_per_dim = gaussian_kl_per_dim(mu, logvar)
        kl = kl_per_dim.sum(-1)
        return ForwardTerms(recon, kl, kl_per_dim, recon + kl, mu, logvar, z, logits)


class AE(_Autoencoder):
    is_variational = False

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.encoder = Encoder(config, config.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """x -> (code, None): an AE has a point code and no variance."""
        return self.encoder(x), None

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ForwardTerms:
        z, _ = self.encode(x)
        logits = self.decode_logits(z)
        recon = self.neg_log_likelihood(x, logits)
        kl_per_dim = torch.zeros_like(z)
        return ForwardTerms(recon, kl_per_dim.sum(-1), kl_per_dim, recon, z, None, z, logits)


def build_model(config: ModelConfig) -> VAE | AE:
    return VAE(config) if config.kind == "vae" else AE(config)
