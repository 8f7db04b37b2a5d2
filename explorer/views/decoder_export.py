"""A run's decoder as weights for the browser: the latent pad and the latent map's hover decode with it."""
from __future__ import annotations

from explorer.views.cache import shared_result
from vae_core.runs.checkpoint import Run
from vae_core.serving.decoder_export import export_mlp_decoder


@shared_result(max_entries=8)
def browser_decoder(run: Run, label: int | None = None) -> dict | None:
    """The run's MLP decoder exported for the browser (a conditional VAE's for class `label`), or None when
    it must decode on the server (a conv decoder, or a conditional one without a class)."""
    try:
        return export_mlp_decoder(run.model, label)
    except ValueError:
        return None
