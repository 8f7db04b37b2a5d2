"""Disentanglement scores from ground-truth factors: MIG and the FactorVAE score, as in disentanglement_lib.

MIG (Chen et al. 2018): discretise each code dimension into 20 equal-width bins, take the mutual
information I(z_u; v_k) in nats between every code dimension u and factor k, and average over factors the
gap between the two most informative dimensions, divided by the factor's entropy H(v_k). 1: every factor
lives in one dimension alone; 0: no dimension tells a factor apart better than the runner-up.

FactorVAE score (Kim & Mnih 2018): each vote draws a batch of factors with one factor k held fixed,
encodes the images, divides each dimension's variance in the batch by its variance over the whole data,
and votes (k, the dimension of least variance). A majority-vote classifier (dimension -> factor) is fit
on the training votes; the score is its accuracy on fresh evaluation votes. 1 is perfect; a code that
ignores the factors scores about 1 / (number of factors), chance.

Codes are the encoder means μ. Continuous factors are discretised like the codes (20 bins); a factor with
at most 20 distinct values (the shape) keeps one bin per value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from vae_core.tensors import model_device

MIG_BINS = 20
MIG_SAMPLES = 10_000
FACTOR_VAE_TRAIN_VOTES = 10_000
FACTOR_VAE_EVAL_VOTES = 5_000
FACTOR_VAE_BATCH = 64  # images per vote
FACTOR_VAE_VARIANCE_SAMPLES = 10_000
PRUNE_STD = 0.05  # dimensions whose μ varies less than this over the data are collapsed, not votes
_IMAGES_PER_CHUNK = 8192  # images rendered and encoded at once, to bound memory

# Maps factors [N, F] to codes [N, d]: render the images and encode them, or a synthetic code in tests.
Representation = Callable[[torch.Tensor], torch.Tensor]
# Draws factors [count, F] from the data's distribution with the given generator.
FactorSampler = Callable[[int, torch.Generator], torch.Tensor]


def histogram_discretize(values, num_bins: int = MIG_BINS) -> np.ndarray:
    """Bin index 0..num_bins-1 of each column of values [N, K] in num_bins equal-width bins from its min to max.

    The same bins as disentanglement_lib's np.digitize(v, np.histogram(v, num_bins)[1][:-1]) − 1.
    """
    values = np.asarray(values, dtype=np.float64)
    lo, hi = values.min(0), values.max(0)
    flat = lo == hi  # np.histogram widens a zero range to ±0.5
    lo, hi = np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)
    left_edges = np.linspace(lo, hi, num_bins + 1, axis=0)[:-1]  # [num_bins, K]
    return (values[:, None, :] >= left_edges[None]).sum(1) - 1


def discretize_factors(factors, num_bins: int = MIG_BINS) -> np.ndarray:
    """Factors [N, F] as bin indices: one bin per value for a factor with ≤ num_bins values, else histogram bins."""
    factors = np.asarray(factors, dtype=np.float64)
    binned = histogram_discretize(factors, num_bins)
    for k in range(factors.shape[1]):  # a loop over factors (a handful), not over images
        values, index = np.unique(factors[:, k], return_inverse=True)
        if len(values) <= num_bins:
            binned[:, k] = index.reshape(-1)
    return binned


def discrete_mutual_info(codes_binned, factors_binned) -> np.ndarray:
    """I(code_u; factor_k) in nats, [d, F], from bin indices [N, d] and [N, F]: one joint histogram for all pairs.

    Equal to sklearn.metrics.mutual_info_score(factor_k, code_u) for every pair.
    """
    a = np.asarray(codes_binned, dtype=np.int64)
    b = np.asarray(factors_binned, dtype=np.int64)
    n, d = a.shape
    f = b.shape[1]
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    pair = np.arange(d)[:, None] * f + np.arange(f)[None, :]  # [d, F]
    cell = (pair[None] * na + a[:, :, None]) * nb + b[:, None, :]  # [N, d, F]
    joint = np.bincount(cell.ravel(), minlength=d * f * na * nb).reshape(d, f, na, nb) / n
    pa, pb = joint.sum(3, keepdims=True), joint.sum(2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / (pa * pb)), 0.0)
    return np.maximum(terms.sum((2, 3)), 0.0)


def discrete_entropy(binned) -> np.ndarray:
    """H(column) in nats of each column of bin indices [N, K], [K]."""
    binned = np.asarray(binned, dtype=np.int64)
    return np.diagonal(discrete_mutual_info(binned, binned)).copy()


@dataclass
class MIGResult:
    """score: mean over factors of gap_k = (I₁ − I₂) / H(v_k), in [0, 1]; mutual_info [d, F] and entropy [F] in nats."""

    score: float
    gap_per_factor: np.ndarray  # [F]
    mutual_info: np.ndarray  # [d, F]
    entropy: np.ndarray  # [F]

    @property
    def normalized_mutual_info(self) -> np.ndarray:
        """I(z_u; v_k) / H(v_k), [d, F], each in [0, 1]."""
        return self.mutual_info / self.entropy[None, :]


def mutual_information_gap(codes, factors, num_bins: int = MIG_BINS) -> MIGResult:
    """MIG of codes [N, d] (encoder means) against ground-truth factors [N, F]."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] < 2:
        raise ValueError(f"MIG needs at least 2 code dimensions (a gap between the top two), got {codes.shape[1]}")
    factors_binned = discretize_factors(factors, num_bins)
    mutual_info = discrete_mutual_info(histogram_discretize(codes, num_bins), factors_binned)
    entropy = discrete_entropy(factors_binned)
    top_two = -np.sort(-mutual_info, axis=0)[:2]  # [2, F], descending
    with np.errstate(divide="ignore", invalid="ignore"):
        # A factor that never varies carries no information to isolate: its gap is 0.
        gap = np.where(entropy > 0, (top_two[0] - top_two[1]) / entropy, 0.0)
    return MIGResult(float(gap.mean()), gap, mutual_info, entropy)


@dataclass
class FactorVAEResult:
    """score: eval accuracy of the majority-vote classifier; votes [F, d] count (fixed factor, argmin dimension)."""

    score: float
    train_accuracy: float
    active_dims: int
    classifier: np.ndarray  # [d]: the factor each code dimension votes for
    train_votes: np.ndarray  # [F, d]
    eval_votes: np.ndarray  # [F, d]


def _codes_in_chunks(represent: Representation, factors: torch.Tensor) -> torch.Tensor:
    """represent() over factors [N, F] a chunk at a time, codes [N, d] as float64."""
    return torch.cat([represent(part).double() for part in factors.split(_IMAGES_PER_CHUNK)])


def factor_vae_votes(
    represent: Representation,
    sample_factors: FactorSampler,
    num_factors: int,
    num_votes: int,
    batch_size: int,
    global_variance: torch.Tensor,
    active: torch.Tensor,
    generator: torch.Generator,
) -> np.ndarray:
    """votes [F, d]: how often fixing factor k left dimension u with the least normalised variance."""
    d = global_variance.shape[0]
    fixed = torch.randint(num_factors, (num_votes,), generator=generator)
    votes = np.zeros((num_factors, d), dtype=np.int64)
    active_index = active.nonzero().squeeze(1)
    votes_per_chunk = max(1, _IMAGES_PER_CHUNK // batch_size)
    for start in range(0, num_votes, votes_per_chunk):
        k = fixed[start : start + votes_per_chunk]
        factors = sample_factors(len(k) * batch_size, generator).reshape(len(k), batch_size, num_factors)
        # Hold factor k of every vote at the value of the vote's first draw.
        held = factors[:, :1, :].gather(2, k[:, None, None]).expand(-1, batch_size, 1)
        factors = factors.scatter(2, k[:, None, None].expand(-1, batch_size, 1), held)
        codes = represent(factors.reshape(-1, num_factors)).double().reshape(len(k), batch_size, d)
        local_variance = codes.var(1)  # unbiased, like np.var(ddof=1)
        ratio = local_variance[:, active_index] / global_variance[active_index]
        dim = active_index[ratio.argmin(1)]
        np.add.at(votes, (k.numpy(), dim.numpy()), 1)
    return votes


def factor_vae_score(
    represent: Representation,
    sample_factors: FactorSampler,
    num_train: int = FACTOR_VAE_TRAIN_VOTES,
    num_eval: int = FACTOR_VAE_EVAL_VOTES,
    batch_size: int = FACTOR_VAE_BATCH,
    num_variance_estimate: int = FACTOR_VAE_VARIANCE_SAMPLES,
    prune_std: float = PRUNE_STD,
    seed: int = 0,
) -> FactorVAEResult:
    """The FactorVAE score of `represent` (factors -> codes) on factors drawn by `sample_factors`; seeded, own RNG."""
    if batch_size < 2:
        raise ValueError(f"FactorVAE score: a vote needs a batch of at least 2 images to have a variance, got {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    factors = sample_factors(num_variance_estimate, generator)
    num_factors = factors.shape[1]
    global_variance = _codes_in_chunks(represent, factors).var(0)
    active = global_variance.sqrt() >= prune_std
    d = global_variance.shape[0]
    if not active.any():
        empty = np.zeros((num_factors, d), dtype=np.int64)
        return FactorVAEResult(0.0, 0.0, 0, np.zeros(d, dtype=np.int64), empty, empty)
    votes = [
        factor_vae_votes(represent, sample_factors, num_factors, n, batch_size, global_variance, active, generator)
        for n in (num_train, num_eval)
    ]
    train_votes, eval_votes = votes
    classifier = train_votes.argmax(0)
    columns = np.arange(d)
    return FactorVAEResult(
        score=float(eval_votes[classifier, columns].sum() / eval_votes.sum()),
        train_accuracy=float(train_votes[classifier, columns].sum() / train_votes.sum()),
        active_dims=int(active.sum()),
        classifier=classifier,
        train_votes=train_votes,
        eval_votes=eval_votes,
    )


def shapes_representation(model, image_size: int) -> Representation:
    """Factors -> encoder means μ [N, d] of the shapes rendered from them at `image_size` (CPU float tensors)."""
    from vae_core.data.shapes import render_shapes

    device = model_device(model)

    @torch.inference_mode()
    def represent(factors: torch.Tensor) -> torch.Tensor:
        mu, _ = model.encode(render_shapes(factors, image_size).to(device))
        return mu.float().cpu()

    return represent


def score_on_shapes(
    model,
    image_size: int,
    seed: int = 0,
    mig_samples: int = MIG_SAMPLES,
    factor_vae_train: int = FACTOR_VAE_TRAIN_VOTES,
    factor_vae_eval: int = FACTOR_VAE_EVAL_VOTES,
    factor_vae_batch: int = FACTOR_VAE_BATCH,
) -> tuple[MIGResult, FactorVAEResult]:
    """MIG on `mig_samples` freshly drawn shapes and the FactorVAE score (its global variances from as many
    shapes), for a model of shapes images."""
    from vae_core.data.shapes import sample_factors

    represent = shapes_representation(model, image_size)
    factors = sample_factors(mig_samples, torch.Generator().manual_seed(seed))
    mig = mutual_information_gap(_codes_in_chunks(represent, factors).numpy(), factors.numpy())
    factor_vae = factor_vae_score(
        represent, sample_factors, num_train=factor_vae_train, num_eval=factor_vae_eval, batch_size=factor_vae_batch,
        num_variance_estimate=mig_samples, seed=seed + 1,
    )  # fmt: skip
    return mig, factor_vae
