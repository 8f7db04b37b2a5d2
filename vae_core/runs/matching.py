"""Find runs that belong together: an AE and a VAE of the same architecture, or one model family
trained at several Gaussian decoder variances c. Reads config.json only, never the weights."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae_core.runs.checkpoint import read_run_config
from vae_core.runs.registry import RunSummary

# What must agree for two models to be "the same architecture"; kind is what differs.
ARCHITECTURE_FIELDS = ("arch", "image_shape", "latent_dim")


@dataclass
class RunInfo:
    """A loadable run with its parsed config (model dict and dataset spec)."""

    path: Path
    name: str
    model: dict
    dataset: str


def run_infos(choices: list[RunSummary]) -> list[RunInfo]:
    """Configs of the usable runs among `choices`; unreadable ones are left out."""
    infos = []
    for summary in choices:
        if summary.error is not None:
            continue
        try:
            config = read_run_config(summary.path)
        except ValueError:
            continue
        infos.append(RunInfo(summary.path, config["name"], config["model"], config["dataset"]["spec"]))
    return infos


def same_architecture(a: dict, b: dict) -> bool:
    """Equal arch, image shape, latent dim and layer sizes (hidden sizes for mlp, channels for conv)."""
    if any(list(a[k]) != list(b[k]) if isinstance(a[k], list) else a[k] != b[k] for k in ARCHITECTURE_FIELDS):
        return False
    layers = "hidden_sizes" if a["arch"] == "mlp" else "conv_channels"
    return list(a[layers]) == list(b[layers])


def find_counterpart(path: Path, infos: list[RunInfo]) -> RunInfo | None:
    """The AE of a VAE at `path` (or the VAE of an AE) with the same architecture; same dataset and
    likelihood preferred, then the name that differs least."""
    path = Path(path).resolve()
    me = next((i for i in infos if i.path.resolve() == path), None)
    if me is None:
        return None
    # Only the VAE and the AE pair up; a conditional VAE has no counterpart.
    candidates = [
        i for i in infos
        if {i.model["kind"], me.model["kind"]} == {"vae", "ae"} and same_architecture(i.model, me.model)
    ]
    if not candidates:
        return None
    stem = me.name.split("-", 1)[-1]  # "vae-mlp-2d-mnist5k" and "ae-mlp-2d-mnist5k" share "mlp-2d-mnist5k"
    return min(
        candidates,
        key=lambda i: (i.dataset != me.dataset, i.model["likelihood"] != me.model["likelihood"],
                       i.name.split("-", 1)[-1] != stem, i.name),
    )


def two_d_pair(infos: list[RunInfo], prefer: Path | None = None) -> tuple[RunInfo, RunInfo] | None:
    """(VAE, AE) with 2-D latents and the same architecture, the pair holding `prefer` first, then shipped
    names (vae-mlp-2d-...), then any."""
    two_d = [i for i in infos if i.model["latent_dim"] == 2]
    pairs = []
    for vae in (i for i in two_d if i.model["kind"] == "vae"):
        ae = find_counterpart(vae.path, two_d)
        if ae is not None:
            pairs.append((vae, ae))
    if not pairs:
        return None
    prefer = Path(prefer).resolve() if prefer is not None else None
    return min(
        pairs,
        key=lambda p: (prefer not in (p[0].path.resolve(), p[1].path.resolve()), p[0].dataset != p[1].dataset,
                       not p[0].name.startswith("vae-mlp-2d"), p[0].name),
    )


def gaussian_families(infos: list[RunInfo]) -> dict[str, list[RunInfo]]:
    """VAEs with a fixed Gaussian decoder variance, grouped by dataset and architecture, each sorted by c.

    Keys read like 'mnist5k · mlp · d=2 · hidden (512, 256)'."""
    families: dict[str, list[RunInfo]] = {}
    for info in infos:
        model = info.model
        if model["kind"] != "vae" or model["likelihood"] != "gaussian":
            continue
        layers = model["hidden_sizes"] if model["arch"] == "mlp" else model["conv_channels"]
        key = f"{info.dataset} · {model['arch']} · d={model['latent_dim']} · layers {tuple(layers)}"
        families.setdefault(key, []).append(info)
    for members in families.values():
        members.sort(key=lambda i: (i.model["c"], i.name))
    return families
