"""The VAE, the plain AE and the conditional VAE. One forward pass reads like the lecture's equations.

VAE:  (μ, log σ²) = encoder(x);  z = μ + ε·σ, ε ~ N(0, I);  −ELBO = −log p(x|z) + KL(q(z|x) || p(z)).
AE:   z = encoder(x);  loss = −log p(x|z)  (no prior, no KL, and so no bound on log p(x)).
CVAE: the same with the label y given to both sides: (μ, log σ²) = encoder(x, y), logits = decoder(z, y);
      −ELBO(x|y) = −log p(x|z, y) + KL(q(z|x, y) || p(z)) ≥ −log p(x|y), with the prior p(z) = N(0, I).
      Since y already says which class, z is free to carry the rest: the style.

Every model takes labels y (int64 [B], or one int for the whole batch) next to x and z, so callers
pass the same (x, y) batch to any model; only the CVAE reads them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.models.config import ModelConfig
from vae_core.models.gaussian import DiagonalGaussian
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


Labels = torch.Tensor | int | None


class _Autoencoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.decoder = Decoder(config, config.num_classes)
        # One scalar log c. Fixed ('gaussian') it is a buffer; learned ('gaussian-learned') a parameter.
        log_c = torch.tensor(math.log(config.c), dtype=torch.float32)
        if config.likelihood == "gaussian-learned":
            self.log_c = nn.Parameter(log_c)
        else:
            self.register_buffer("log_c", log_c)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def is_variational(self) -> bool:
        return self.config.is_variational

    @property
    def is_conditional(self) -> bool:
        return self.config.is_conditional

    def decode_logits(self, z: torch.Tensor, y: Labels = None) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """Latents [B, d] (and labels, for a CVAE) -> mean images E[x|z], [B, C, H, W] in [0, 1]."""
        return mean_image(self.decode_logits(z, y))

    def neg_log_likelihood(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """−log p(x|z) per image, nats; `logits` may carry extra leading sample dims."""
        return neg_log_likelihood(x, logits, self.config.likelihood, self.log_c)


class VAE(_Autoencoder):
    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.encoder = Encoder(config, 2 * config.latent_dim, config.num_classes)

    def encode(self, x: torch.Tensor, y: Labels = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (μ, log σ²) of q(z|x), each [B, d]."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def posterior(self, x: torch.Tensor, y: Labels = None) -> DiagonalGaussian:
        """q(z|x) = N(μ(x), diag σ²(x)) (q(z|x, y) for a CVAE)."""
        return DiagonalGaussian(*self.encode(x, y))

    def forward(self, x: torch.Tensor, y: Labels = None, generator: torch.Generator | None = None) -> ForwardTerms:
        q = self.posterior(x, y)
        z = q.sample(generator=generator)  # z = μ + ε·σ: the gradient reaches the encoder through μ and σ
        logits = self.decode_logits(z, y)
        recon = self.neg_log_likelihood(x, logits)  # −log p(x|z)
        kl_per_dim = q.kl_per_dim()  # KL(q(z|x) || p(z)) of each dimension, in closed form
        kl = kl_per_dim.sum(-1)
        return ForwardTerms(recon=recon, kl=kl, kl_per_dim=kl_per_dim, neg_elbo=recon + kl, mu=q.mu, logvar=q.logvar,
                            z=z, logits=logits)


class AE(_Autoencoder):
    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.encoder = Encoder(config, config.latent_dim)

    def encode(self, x: torch.Tensor, y: Labels = None) -> tuple[torch.Tensor, None]:
        """x -> (code, None): an AE has a point code and no variance."""
        return self.encoder(x), None

    def forward(self, x: torch.Tensor, y: Labels = None, generator: torch.Generator | None = None) -> ForwardTerms:
        z, _ = self.encode(x)
        logits = self.decode_logits(z)
        recon = self.neg_log_likelihood(x, logits)
        kl_per_dim = torch.zeros_like(z)  # no prior, so no KL: the loss is the reconstruction term alone
        return ForwardTerms(recon=recon, kl=kl_per_dim.sum(-1), kl_per_dim=kl_per_dim, neg_elbo=recon, mu=z, logvar=None,
                            z=z, logits=logits)


class CVAE(VAE):
    """The conditional VAE: q(z|x, y) and p(x|z, y) read the one-hot label; the prior stays N(0, I).

    Its forward pass is the VAE's with y passed on: the −ELBO terms are of log p(x|y)."""

    def one_hot(self, y: Labels, batch_size: int, device: torch.device) -> torch.Tensor:
        """Labels (int64 [B], or one int for every row) -> one-hot float [B, K]."""
        if y is None:
            raise ValueError("a conditional VAE needs the class label y to encode or decode")
        y = torch.as_tensor(y, dtype=torch.long, device=device)
        if y.dim() == 0:
            y = y.expand(batch_size)
        return F.one_hot(y, self.config.num_classes).float()

    def encode(self, x: torch.Tensor, y: Labels = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) -> (μ, log σ²) of q(z|x, y), each [B, d]."""
        mu, logvar = self.encoder(x, self.one_hot(y, x.shape[0], x.device)).chunk(2, dim=-1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor, y: Labels = None) -> torch.Tensor:
        return self.decoder(z, self.one_hot(y, z.shape[0], z.device))


def build_model(config: ModelConfig) -> VAE | AE | CVAE:
    return {"vae": VAE, "ae": AE, "cvae": CVAE}[config.kind](config)
