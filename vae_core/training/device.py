"""Pick the torch device (a named one, or the best available for 'auto') and its mixed-precision dtype."""
from __future__ import annotations

import torch

from vae_core.training.config import AMP_MODES, DEVICES

_AMP_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def mps_is_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def available_devices() -> list[str]:
    """The device types this machine can run on, 'cpu' first."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if mps_is_available() else [])


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda, then mps, then cpu; a named device must exist or ValueError says so."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda': no CUDA GPU is available here; use --device cpu or auto")
    if name == "mps" and not mps_is_available():
        raise ValueError("device 'mps': Apple's Metal backend is not available here; use --device cpu or auto")
    if name not in DEVICES:
        raise ValueError(f"device: expected auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `--amp` on `device`, None when amp is off; ValueError off CUDA.

    Mixed precision is CUDA only: on the CPU bfloat16 autocast is faster only on CPUs with native
    bf16 instructions and costs accuracy everywhere, and MPS autocast is not reliable across macOS
    versions, so a run trained elsewhere stays in float32 and says so instead of guessing.
    """
    if amp not in AMP_MODES:
        raise ValueError(f"amp: expected one of {AMP_MODES}, got {amp!r}")
    if amp == "off":
        return None
    if device.type != "cuda":
        raise ValueError(
            f"--amp {amp}: mixed precision needs a CUDA GPU, but this run is on {device.type}; "
            "drop --amp (training on the CPU or MPS stays in float32)"
        )
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        raise ValueError("--amp bf16: this GPU has no bfloat16 support; use --amp fp16")
    return _AMP_DTYPES[amp]
