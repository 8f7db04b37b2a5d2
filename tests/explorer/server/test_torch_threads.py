"""Interactive work uses INTERACTIVE_THREADS, training threads TRAINING_THREADS, each set per thread."""
import threading

import torch

from explorer.server import torch_threads


def _in_thread(setter) -> int:
    seen = []

    def work():
        setter()
        seen.append(torch.get_num_threads())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return seen[0]


def test_each_kind_of_work_sets_its_own_thread_count(monkeypatch):
    monkeypatch.setattr(torch_threads, "TRAINING_THREADS", 2)
    monkeypatch.setattr(torch_threads, "INTERACTIVE_THREADS", 1)
    before = torch.get_num_threads()
    try:
        assert _in_thread(torch_threads.for_training) == 2
        assert _in_thread(torch_threads.for_interactive_work) == 1
        # A training thread started after an interactive one still gets its own count, and back.
        assert _in_thread(torch_threads.for_training) == 2
        assert _in_thread(torch_threads.for_interactive_work) == 1
    finally:
        torch.set_num_threads(before)
