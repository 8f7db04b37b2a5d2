"""2-D views of latent codes: the identity for d ≤ 2, PCA or t-SNE above that."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

PROJECTION_METHODS = ("identity", "pca", "tsne")
SINGLE_THREAD_TSNE_POINTS = 5000


def projection_methods(d: int) -> list[str]:
    """The projections that make sense for a d-dimensional latent space, the default first."""
    return ["identity"] if d <= 2 else ["pca", "tsne"]


@dataclass(frozen=True)
class MapProjection:
    """How a latent map puts codes [N, d] on a plane: the codes themselves for d ≤ 2, else the two leading
    principal components of the codes it was fitted on, so other points (a path, one z) land among them."""

    basis: tuple[np.ndarray, np.ndarray] | None  # pca_basis of the fitted codes; None for the identity

    @property
    def method(self) -> str:
        return "identity" if self.basis is None else "pca"

    @property
    def axis_titles(self) -> tuple[str, str]:
        return ("z₁", "z₂") if self.basis is None else ("PC 1 of μ", "PC 2 of μ")

    def __call__(self, points) -> np.ndarray:
        """Points [M, d] on the plane, [M, 2] (float64)."""
        return project_2d(points, "identity") if self.basis is None else project_with_basis(points, self.basis)


def map_projection(mu) -> MapProjection:
    """The default map of codes mu [N, d] (the first of projection_methods(d)): identity or a PCA fitted on mu."""
    d = mu.shape[-1]
    return MapProjection(None if projection_methods(d)[0] == "identity" else pca_basis(mu))


def fixed_subset(n: int, k: int, seed: int = 0) -> np.ndarray:
    """k of the indices 0..n−1 (all of them when k ≥ n), sorted, drawn without replacement with `seed`: the
    same points every time a view is drawn."""
    if k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def project_2d(mu, method: str, seed: int = 0) -> np.ndarray:
    """Latent codes [N, d] -> points [N, 2] (float64) for a scatter plot.

    identity: the codes themselves (d = 1 gets a zero second column); pca: the two leading principal
    components; tsne: sklearn's t-SNE, deterministic for a given seed.
    """
    if method not in PROJECTION_METHODS:
        raise ValueError(f"projection: expected one of {list(PROJECTION_METHODS)}, got {method!r}")
    points = mu.detach().cpu().double().numpy() if isinstance(mu, torch.Tensor) else np.asarray(mu, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"projection: expected latent codes of shape [N, d], got shape {list(points.shape)}")
    d = points.shape[1]
    if method == "identity":
        if d > 2:
            raise ValueError(f"identity projection: needs 1 or 2 latent dimensions, got {d}; use pca or tsne")
        return _pad_to_2(points)
    if method == "pca":
        return _pca_2d(points)
    return _tsne_2d(points, seed)


def _pad_to_2(points: np.ndarray) -> np.ndarray:
    out = np.zeros((points.shape[0], 2))
    out[:, : min(2, points.shape[1])] = points[:, :2]
    return out


def pca_basis(mu) -> tuple[np.ndarray, np.ndarray]:
    """(mean [d], the two leading principal components [d, ≤2]) of codes [N, d]; each component's largest
    loading is positive, so the picture does not flip between runs."""
    points = np.asarray(mu.detach().cpu().double().numpy() if isinstance(mu, torch.Tensor) else mu, dtype=np.float64)
    mean = points.mean(0)
    centred = points - mean
    covariance = centred.T @ centred  # [d, d]: cheap for any N, since d ≤ 128
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    leading = eigenvectors[:, np.argsort(eigenvalues)[::-1][:2]]
    signs = np.sign(leading[np.abs(leading).argmax(0), np.arange(leading.shape[1])])
    return mean, leading * np.where(signs == 0, 1.0, signs)


def project_with_basis(points, basis: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Points [M, d] on the components of `pca_basis` (fitted elsewhere, e.g. on the test codes) -> [M, 2]."""
    mean, components = basis
    points = np.asarray(points.detach().cpu().double().numpy() if isinstance(points, torch.Tensor) else points,
                        dtype=np.float64)  # fmt: skip
    return _pad_to_2((points - mean) @ components)


def _pca_2d(points: np.ndarray) -> np.ndarray:
    return project_with_basis(points, pca_basis(points))


def _tsne_2d(points: np.ndarray, seed: int) -> np.ndarray:
    # Imported here: sklearn is slow to import and only t-SNE needs it.
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    n = points.shape[0]
    if n < 4:
        raise ValueError(f"t-SNE: needs at least 4 points, got {n}")
    # sklearn requires perplexity < N; 30 is its default for larger sets.
    perplexity = min(30.0, (n - 1) / 3)
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, learning_rate="auto", random_state=seed)
    # For a few thousand points one thread is about as fast, and sklearn's OpenMP threads then do not
    # fight torch's for the cores.
    threads = 1 if n <= SINGLE_THREAD_TSNE_POINTS else None
    with threadpool_limits(limits=threads, user_api="openmp"):
        return tsne.fit_transform(points).astype(np.float64)
