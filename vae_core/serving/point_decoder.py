"""Decode one latent point in a single call into compiled code: the interactive decode under load.

An eager decoder runs each layer as its own torch op, and every op lets go of Python's GIL and
waits to take it back; in a server where many threads run Python (one Streamlit server for a class),
each wait can last a thread-switch interval. Traced and frozen with TorchScript, the decoder's layers
run in one call into compiled code, with far fewer hand-offs (BENCHMARKS.md, "Issue 5").

`PointDecoder(model)(z, y)` equals `model.decode(z[None], y)[0]`. It is checked against the eager
decoder when built; where tracing is unavailable or disagrees, it decodes eagerly and says so in
`.traced` (False). Inputs keep one shape (one point), which is what tracing fixes.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from vae_core.models.likelihood import mean_image
from vae_core.tensors import model_device, plain_cpu

# Largest absolute difference per pixel allowed between the traced and the eager decoder (both float32).
AGREEMENT_TOLERANCE = 1e-5
_CHECK_POINTS = 3


class _DecodeMean(nn.Module):
    """model.decode of one point as a module of tensors only: z [1, d] (and one-hot y [1, K]) -> [C, H, W]."""

    def __init__(self, model, conditional: bool):
        super().__init__()
        self.model, self.conditional = model, conditional

    def forward(self, z: torch.Tensor, y_one_hot: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.model.decoder(z, y_one_hot) if self.conditional else self.model.decoder(z)
        return mean_image(logits)[0]


class PointDecoder:
    """E[x | z] (and y, for a conditional VAE) of one latent point z [d], as a CPU tensor [C, H, W].

    Around the traced call it makes as few torch calls as it can (each is a GIL hand-off too): the
    inputs are built from Python numbers in one call each, on the CPU."""

    def __init__(self, model, seed: int = 0):
        self.model = model
        self.latent_dim = int(model.config.latent_dim)
        self.conditional = model.is_conditional
        self.num_classes = model.config.num_classes
        self.device = model_device(model)
        self._traced = None
        self.why_eager = ""
        try:
            self._traced = self._trace(seed)
        except Exception as e:  # noqa: BLE001 - any failure to trace leaves the eager decoder, which is correct
            self.why_eager = f"tracing failed: {type(e).__name__}: {e}"

    @property
    def traced(self) -> bool:
        return self._traced is not None

    def _values(self, z) -> list[float]:
        values = z.detach().reshape(-1).tolist() if torch.is_tensor(z) else [float(v) for v in z]
        if len(values) != self.latent_dim:
            raise ValueError(f"latent point: expected {self.latent_dim} coordinates, got {len(values)}")
        return values

    def _label(self, y) -> int:
        if y is None:
            raise ValueError("a conditional VAE needs the class label y to decode")
        label = int(y.reshape(-1)[0]) if torch.is_tensor(y) else int(y)
        if not 0 <= label < self.num_classes:
            raise ValueError(f"class label: expected 0 to {self.num_classes - 1}, got {label}")
        return label

    def _tensor(self, rows: list) -> torch.Tensor:
        # torch.tensor(..., device=cpu) can hand the GIL off where the plain call does not.
        made = torch.tensor(rows, dtype=torch.float32)
        return made if self.device.type == "cpu" else made.to(self.device)

    def _inputs(self, z, y) -> tuple[torch.Tensor, ...]:
        point = self._tensor([self._values(z)])
        if not self.conditional:
            return (point,)
        label = self._label(y)
        return point, self._tensor([[1.0 if k == label else 0.0 for k in range(self.num_classes)]])

    def _trace(self, seed: int):
        if not hasattr(torch, "jit") or self.model.training:
            raise RuntimeError("TorchScript is not available, or the model is in training mode")
        module = _DecodeMean(self.model, self.conditional).eval()
        generator = torch.Generator().manual_seed(seed)
        points = [torch.randn(self.latent_dim, generator=generator) * 2 for _ in range(_CHECK_POINTS)]
        labels = [k % max(1, self.num_classes) for k in range(_CHECK_POINTS)]
        with warnings.catch_warnings(), torch.no_grad():
            # torch.jit.trace and freeze warn that TorchScript is deprecated; they still work, and the
            # eager decoder stays as the fallback for the day they do not.
            warnings.simplefilter("ignore")
            traced = torch.jit.freeze(torch.jit.trace(module, self._inputs(points[0], labels[0])).eval())
            for z, y in zip(points, labels):
                inputs = self._inputs(z, y)
                gap = (traced(*inputs) - module(*inputs)).abs().max().item()
                if not gap <= AGREEMENT_TOLERANCE:
                    raise RuntimeError(f"the traced decoder differs from the eager one by {gap:.2e}")
        return traced

    def __call__(self, z, y=None) -> torch.Tensor:
        with torch.no_grad():
            if self._traced is not None:
                image = self._traced(*self._inputs(z, y))
                return image if image.device.type == "cpu" else image.cpu()
            label = torch.tensor([self._label(y)], device=self.device) if self.conditional else None
            return plain_cpu(self.model.decode(self._tensor([self._values(z)]), label)[0])
