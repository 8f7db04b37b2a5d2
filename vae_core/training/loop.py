"""The training loop: in-memory tensors batched by index, Adam, a metrics record per step and per epoch.

`train` reads top to bottom: restore the saved progress, then per epoch one step per batch, the end of
the epoch, and a roll back to the last finite weights if the loss turns NaN. One process and torchrun's
ranks share the code: a SingleProcess group's sharding and agreement change nothing (training.distributed).
"""
from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from vae_core.data import ImageDataset
from vae_core.models import check_labels_fit
from vae_core.objective import kl_weight, training_loss
from vae_core.training import distributed
from vae_core.training.config import TrainConfig
from vae_core.training.device import autocast_dtype
from vae_core.training.records import TRAIN_TERMS, epoch_record, metrics_payload, saved_progress, step_record

MetricsCallback = Callable[[dict], None]
# Each epoch's batch order and ε stream are seeded from the seed and the epochs done, so a resumed run
# draws fresh ones; this prime keeps the epochs' seeds apart.
EPOCH_SEED_STRIDE = 1_000_003


@dataclass
class TrainResult:
    """What a run produced. `status["state"]` is finished, stopped, time_limit or diverged."""

    model: torch.nn.Module
    history: list[dict]
    steps: list[dict]
    status: dict
    optimizer_state: dict | None = None

    @property
    def metrics(self) -> dict:
        """The metrics.json payload."""
        return metrics_payload(self.history, self.steps, self.status)


@dataclass
class _Snapshot:
    """Weights and optimizer state known to be finite, restored when the loss diverges."""

    model_state: dict
    optimizer_state: dict
    epochs_done: int
    step: int


@dataclass
class _Epoch:
    """One epoch in progress: its index, batch order, first batch, and the running sums of its train terms."""

    index: int
    order: torch.Tensor
    first_batch: int = 0
    sums: dict = field(default_factory=lambda: dict.fromkeys(TRAIN_TERMS, 0.0))
    n_steps: int = 0
    progress: float = 0.0  # epochs done at the start of its last step (fractional)
    weight: float = 0.0  # the KL weight of its last step


def make_adam(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Adam:
    """Adam with the fused kernel (one kernel for all parameters) where this torch build has one for the
    model's device, else the per-tensor default."""
    try:
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def cosine_lr(base_lr: float, fraction_done: float) -> float:
    """Half a cosine from `base_lr` at the start to 0 when the run is done."""
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, fraction_done)))


def _schedule_fraction(epoch_progress: float, config: TrainConfig, elapsed: float) -> float:
    # Under a time limit the schedule follows whichever budget runs out first, so a slow machine
    # still ends with a decayed learning rate instead of being cut off at a high one.
    fraction = epoch_progress / config.epochs
    if config.time_limit is not None:
        fraction = max(fraction, elapsed / config.time_limit)
    return fraction


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by its own random (dy, dx) in [−max_shift, max_shift], filling with 0.

    One gather over a padded batch, no loop per image."""
    b, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, b), generator=generator).to(x.device)
    rows = (offsets[0, :, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (offsets[1, :, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def _finite_state(state: dict) -> bool:
    return all(torch.isfinite(v).all() for v in state.values() if torch.is_tensor(v) and v.is_floating_point())


def _diverged_message(what: str, epoch: int, step: int, kept: _Snapshot, lr: float) -> str:
    """One line for the user: what happened, which weights were kept, what to change."""
    weights = ("The initial weights were kept" if kept.step == 0
               else f"The weights after {kept.epochs_done} epoch(s), step {kept.step}, were kept")
    return (f"Training stopped at epoch {epoch + 1}, step {step}: {what}. {weights}. Try a smaller learning rate "
            f"(now {lr:g}, e.g. {lr / 10:g}), a larger decoder variance c, or KL warm-up.")


class _Loop:
    """A run's fixed parts, built once (data on the device, optimizer, autocast, gradient scaler, random
    streams), and its progress, which the steps move on."""

    def __init__(self, model, dataset: ImageDataset, config: TrainConfig, ranks, callback: MetricsCallback | None,
                 stop_event: threading.Event | None):
        self.model, self.config, self.ranks = model, config, ranks
        self.callback, self.stop_event = callback, stop_event
        device = ranks.device
        model.to(device)
        check_labels_fit(model.config, dataset.has_labels, dataset.class_names)
        # Labels go along with every batch; only a conditional VAE reads them.
        self.train_x, self.train_y = dataset.train_x.to(device), dataset.train_y.to(device)
        n_train = self.train_x.shape[0]
        if n_train == 0:
            raise ValueError("dataset: the training split is empty")
        self.batch_size = min(config.batch_size, n_train)
        self.steps_per_epoch = ranks.steps_per_epoch(n_train, self.batch_size)
        test_x, test_y = dataset.test_x.to(device), dataset.test_y.to(device)
        self.test = (test_x, test_y) if ranks.is_main else (test_x[:0], test_y[:0])  # only rank 0 evaluates
        self.optimizer = make_adam(model, config)
        # DDP wraps the model for the training forward pass only; evaluation and the saved weights use `model`.
        self.net = ranks.wrap(model)
        amp_dtype = autocast_dtype(config.amp, device)
        self.autocast = contextlib.nullcontext() if amp_dtype is None else torch.autocast(device.type, dtype=amp_dtype)
        # fp16 gradients underflow without loss scaling; bf16 has float32's range and needs none.
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    # ------------------------------------------------------------------ restore progress

    def restore_progress(self, optimizer_state: dict | None, previous_metrics: dict | None) -> None:
        """Go on from a saved run (its optimizer state and metrics), or start a new one."""
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)
        saved = saved_progress(previous_metrics)
        self.history, self.steps, self.partial = saved.history, saved.steps, saved.partial
        self.epochs_done, self.step = saved.epochs_done, saved.step
        # A run stopped mid-epoch goes on at its next step, so the curves join with no gap or overlap and
        # the step count stays Adam's. The rest of that epoch's batches come from a fresh permutation.
        first = self.step - (int(self.history[-1]["step"]) if self.history else 0)
        self.resume_batch = first if 0 < first < self.steps_per_epoch else 0
        # One generator for batch order and one for ε make a run reproducible from its seed alone,
        # even when other threads use the global RNG.
        seed = self.config.seed
        self.order_gen = torch.Generator().manual_seed(seed + EPOCH_SEED_STRIDE * self.epochs_done)
        noise_seed = seed + 7 + EPOCH_SEED_STRIDE * self.epochs_done
        self.noise_gen = torch.Generator(device=self.ranks.device).manual_seed(self.ranks.rank_seed(noise_seed))
        self.shift_gen = self.ranks.shift_generator(self.order_gen, noise_seed + 6)
        self.snapshot = self._snapshot()
        self.state, self.message = "finished", f"trained {self.config.epochs} epochs"
        last = self.partial or (self.history[-1] if self.history else None)
        self.elapsed_before = float(last["elapsed_s"]) if last else 0.0
        self.start, self.seen, self.agreed_elapsed = time.perf_counter(), 0, 0.0

    def _snapshot(self) -> _Snapshot:
        return _Snapshot(copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict()),
                         self.epochs_done, self.step)

    def _elapsed(self) -> float:
        return time.perf_counter() - self.start

    # ------------------------------------------------------------------ one step

    def begin_epoch(self, index: int) -> _Epoch:
        self.model.train()
        epoch = _Epoch(index, torch.randperm(self.train_x.shape[0], generator=self.order_gen).to(self.ranks.device))
        epoch.first_batch, self.resume_batch = self.resume_batch, 0
        if epoch.first_batch and self.partial is not None:
            # The stopped session's means over this epoch's first steps: the epoch record covers all of it.
            epoch.sums = {k: float(self.partial["train"][k]) * epoch.first_batch for k in TRAIN_TERMS}
            epoch.n_steps = epoch.first_batch
        return epoch

    def _batch(self, epoch: _Epoch, batch: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(images, labels) of this rank's share of the global batch, and the global batch's size."""
        index = epoch.order[batch * self.batch_size : (batch + 1) * self.batch_size]
        mine = self.ranks.shard(index)
        x, y = self.train_x[mine], self.train_y[mine]
        if self.config.augment_shift:
            x = random_shift(x, self.config.augment_shift, self.shift_gen)
        return x, y, index.shape[0]

    def _set_learning_rate(self, progress: float) -> None:
        if self.config.lr_schedule == "cosine":
            fraction = _schedule_fraction(progress, self.config, self.agreed_elapsed)
            for group in self.optimizer.param_groups:
                group["lr"] = cosine_lr(self.config.lr, fraction)

    def one_step(self, epoch: _Epoch, batch: int) -> str | None:
        """Train on one batch; returns None to go on, or why the run ends here (diverged, stopped, time_limit)."""
        config = self.config
        x, y, n_batch = self._batch(epoch, batch)
        epoch.progress = progress = epoch.index + batch / self.steps_per_epoch
        self._set_learning_rate(progress)
        epoch.weight = kl_weight(progress, config.beta, config.warmup_epochs) if self.model.is_variational else 0.0
        with self.autocast:
            terms = self.net(x, y, generator=self.noise_gen)
        # The loss is summed outside autocast: the likelihood and KL terms come out of it in float32.
        loss = training_loss(terms, epoch.weight, config.free_bits)
        agreed = self.ranks.agree_on_step(terms, loss, n_batch, stop_requested=self._stop_requested(),
                                          time_up=self._time_up(), elapsed_s=self._elapsed())
        if not math.isfinite(agreed.loss):  # every rank sees the same global loss, so all roll back together
            self.roll_back(f"the loss became {'NaN' if math.isnan(agreed.loss) else 'infinite'}", epoch.index,
                           self.step + 1)
            return "diverged"
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(self.ranks.scale_loss(loss, x.shape[0], n_batch)).backward()
        self.scaler.step(self.optimizer)  # skipped when fp16's scaled gradients overflowed
        self.scaler.update()
        self.step += 1
        epoch.n_steps += 1
        self.seen += n_batch
        elapsed = self._elapsed()
        record = step_record(agreed, epoch.index, self.step, progress + 1 / self.steps_per_epoch, config,
                             epoch.weight, self.seen / max(elapsed, 1e-9), self.elapsed_before + elapsed)
        for key in TRAIN_TERMS:
            epoch.sums[key] += record["train"][key]
        self.steps.append(record)
        if self.callback is not None:
            self.callback(record)
        self.agreed_elapsed = agreed.elapsed_s
        stop_requested, time_up = self.ranks.stop_after_step(agreed, self._stop_requested(), self._time_up())
        if stop_requested:
            self.state, self.message = "stopped", f"stopped by request at step {self.step}"
            return "stopped"
        if time_up:
            self.state = "time_limit"
            self.message = f"stopped after the time limit of {config.time_limit:g} s, at step {self.step}"
            return "time_limit"
        return None

    def _stop_requested(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def _time_up(self) -> bool:
        return self.config.time_limit is not None and self._elapsed() >= self.config.time_limit

    # ------------------------------------------------------------------ end of epoch

    def end_epoch(self, epoch: _Epoch, finished: bool) -> None:
        """Record the epoch (a stopped one as partial) and keep its weights as the last known finite ones."""
        if finished:
            self.epochs_done = epoch.index + 1
        if epoch.n_steps > 0:
            elapsed = self._elapsed()
            done = self.epochs_done if finished else epoch.progress + 1 / self.steps_per_epoch
            means = {k: v / epoch.n_steps for k, v in epoch.sums.items()}
            record = epoch_record(self.model, self.test, means, done, self.step, self.config, epoch.weight,
                                  self.seen / max(elapsed, 1e-9), self.elapsed_before + elapsed)
            record["partial"] = not finished
            self.history.append(record)
            if self.callback is not None:
                self.callback(record)
        if finished and _finite_state(self.model.state_dict()):
            self.snapshot = self._snapshot()

    # ------------------------------------------------------------------ roll back on NaN

    def roll_back(self, what: str, epoch: int, step: int) -> None:
        """Put back the last finite weights and optimizer state, and say what happened."""
        self.model.load_state_dict(self.snapshot.model_state)
        self.optimizer.load_state_dict(self.snapshot.optimizer_state)
        self.state = "diverged"
        self.message = _diverged_message(what, epoch, step, self.snapshot, self.config.lr)
        self.epochs_done, self.step = self.snapshot.epochs_done, self.snapshot.step

    def finish(self) -> TrainResult:
        if self.state != "diverged" and not _finite_state(self.model.state_dict()):
            # The last step before the end (or a stop) can turn the weights NaN while its loss was finite;
            # no later loss sees it, so check here rather than save NaN weights.
            last_epoch = int(self.steps[-1]["epoch"]) if self.steps else self.epochs_done
            self.roll_back("the weights became NaN or infinite", last_epoch, self.step)
        history = self.history
        if self.state == "diverged":
            # Epoch records after the kept weights describe weights that are gone (their test −ELBO may be NaN).
            history = [r for r in history if r["step"] <= self.step]
        self.model.eval()
        status = {"state": self.state, "message": self.message, "epochs_done": self.epochs_done, "step": self.step}
        return TrainResult(self.model, history, self.steps, status, self.optimizer.state_dict())


def train(
    model: torch.nn.Module,
    dataset: ImageDataset,
    config: TrainConfig,
    *,
    callback: MetricsCallback | None = None,
    stop_event: threading.Event | None = None,
    optimizer_state: dict | None = None,
    previous_metrics: dict | None = None,
) -> TrainResult:
    """Train `model` in place and return it with its metrics.

    Resuming: pass the `optimizer_state` and `previous_metrics` of a saved run; training goes on
    from the step after `previous_metrics["status"]["step"]` (mid-epoch after a stop) up to
    `config.epochs`, and the history and step records continue with no gap or overlap.
    The model's initial weights come from the caller (seed the global RNG before building it).
    """
    loop = _Loop(model, dataset, config, distributed.training_group(config.device), callback, stop_event)
    loop.restore_progress(optimizer_state, previous_metrics)
    for index in range(loop.epochs_done, config.epochs):
        epoch = loop.begin_epoch(index)
        ending = None
        for batch in range(epoch.first_batch, loop.steps_per_epoch):
            ending = loop.one_step(epoch, batch)
            if ending is not None:
                break
        if ending == "diverged":
            break
        loop.end_epoch(epoch, finished=ending is None)
        if ending is not None:
            break
    return loop.finish()
