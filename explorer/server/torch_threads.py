"""How many CPU threads torch may use inside one operation, per kind of work in the app.

torch keeps this count per thread (a new thread starts from the last value set anywhere), so every
thread that decodes or trains sets its own. Interactive decodes are small: split over two threads on
a busy server they wait on each other, so many sessions are better served by one thread each.
Training jobs are long and few (VAE_MAX_TRAINING_JOBS), so they keep torch's default.
"""
from __future__ import annotations

import os

import torch

TRAINING_THREADS = int(os.environ.get("VAE_TRAINING_TORCH_THREADS") or torch.get_num_threads())
INTERACTIVE_THREADS = int(os.environ.get("VAE_INTERACTIVE_TORCH_THREADS") or 1)


def for_interactive_work() -> None:
    """Call at the start of every script run and fragment run."""
    if torch.get_num_threads() != INTERACTIVE_THREADS:
        torch.set_num_threads(INTERACTIVE_THREADS)


def for_training() -> None:
    """Call first in a training thread."""
    if torch.get_num_threads() != TRAINING_THREADS:
        torch.set_num_threads(TRAINING_THREADS)
