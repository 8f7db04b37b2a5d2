"""The training loop: in-memory tensors batched by index, Adam, metrics records per step and epoch.

Records follow docs/INTERFACES.md. Every loss value is per image, in nats; "neg_elbo" is −ELBO
(lower is better), "recon" is −log p(x|z), "kl" is KL(q(z|x) || p(z)).
"""
from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

import torch

from vae_core.training import distributed
from vae_core.data import ImageDataset
from vae_core.training.device import autocast_dtype, resolve_device
from vae_core.evaluation import evaluate
from vae_core.models import check_labels_fit
from vae_core.objective import kl_weight, training_loss
from vae_core.training.config import TrainConfig

MAX_STORED_STEPS = 2000
ACTIVE_UNIT_THRESHOLD = 0.01

MetricsCallback = Callable[[dict], None]


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
        steps = [_rounded(r) for r in thin_steps(self.steps)]
        return {"history": self.history, "steps": steps, "status": self.status}


@dataclass
class _Snapshot:
    """Weights and optimizer state known to be finite, restored when the loss diverges."""

    model_state: dict
    optimizer_state: dict
    epochs_done: int
    step: int


def thin_steps(steps: list[dict], limit: int = MAX_STORED_STEPS) -> list[dict]:
    """Every k-th step record (and always the last) so metrics.json stays small."""
    if len(steps) <= limit:
        return steps
    stride = math.ceil(len(steps) / limit)
    kept = steps[::stride]
    if kept[-1] is not steps[-1]:
        kept.append(steps[-1])
    return kept


def make_adam(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Adam:
    """Adam with the fused kernel where this torch build has one for the model's device.

    The fused update is one kernel for all parameters; on the 2-core CPU it makes a step of the
    784-400-20 model about 1 ms (15%) shorter than the per-tensor default."""
    try:
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _rounded(value):
    """Floats to 6 significant digits, recursively: step curves need no more, and metrics.json stays small."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


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
    # Under torchrun each rank trains a replica on its share of every batch (vae_core/distributed.py).
    ranks = distributed.active_group()
    device = resolve_device(config.device) if ranks is None else ranks.device
    amp_dtype = autocast_dtype(config.amp, device)
    model.to(device)
    check_labels_fit(model.config, dataset.has_labels, dataset.class_names)
    train_x = dataset.train_x.to(device)
    test_x = dataset.test_x.to(device)
    # Labels go along with every batch; only a conditional VAE reads them.
    train_y, test_y = dataset.train_y.to(device), dataset.test_y.to(device)
    n_train = train_x.shape[0]
    if n_train == 0:
        raise ValueError("dataset: the training split is empty")
    batch_size = min(config.batch_size, n_train)
    steps_per_epoch = math.ceil(n_train / batch_size) if ranks is None else ranks.steps_per_epoch(n_train, batch_size)
    if ranks is not None and not ranks.is_main:
        test_x = test_x[:0]  # only rank 0 evaluates, logs and saves

    optimizer = make_adam(model, config)
    # DDP wraps the model for the training forward pass only; evaluation and the saved weights use `model`.
    net = model if ranks is None else ranks.wrap(model)
    # fp16 gradients underflow without loss scaling; bf16 has float32's range and needs none.
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)

    history, steps, epochs_done, step, partial = _previous_progress(previous_metrics)
    # A run stopped mid-epoch goes on at its next step, so the curves join with no gap or overlap and
    # the step count stays Adam's. The rest of that epoch's batches come from a fresh permutation.
    first_batch = step - (int(history[-1]["step"]) if history else 0)
    first_batch = first_batch if 0 < first_batch < steps_per_epoch else 0
    # One generator for batch order and one for ε make a run reproducible from its seed alone,
    # even when other threads use the global RNG. Resuming re-seeds by epoch so order stays fresh.
    order_gen = torch.Generator().manual_seed(config.seed + 1_000_003 * epochs_done)
    noise_seed = config.seed + 7 + 1_000_003 * epochs_done
    noise_gen = torch.Generator(device=device).manual_seed(noise_seed if ranks is None else ranks.rank_seed(noise_seed))
    # Every rank must draw the same epoch orders from order_gen, so their shifts come from a stream of their own.
    shift_gen = order_gen if ranks is None else torch.Generator().manual_seed(ranks.rank_seed(noise_seed + 6))
    agreed_elapsed = 0.0  # distributed: the training time all ranks agree on, for the time-limited schedule

    snapshot = _Snapshot(copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict()), epochs_done, step)
    start = time.perf_counter()
    last_record = partial or (history[-1] if history else None)
    elapsed_before = float(last_record["elapsed_s"]) if last_record else 0.0
    state, message = "finished", f"trained {config.epochs} epochs"
    seen = 0

    for epoch in range(epochs_done, config.epochs):
        model.train()
        order = torch.randperm(n_train, generator=order_gen).to(device)
        sums = {"neg_elbo": 0.0, "recon": 0.0, "kl": 0.0, "loss": 0.0}
        n_steps = 0
        start_batch, first_batch = first_batch, 0
        if start_batch and partial is not None:
            # The stopped session's means over this epoch's first steps: the epoch record covers all of it.
            sums = {k: float(partial["train"][k]) * start_batch for k in sums}
            n_steps = start_batch
        stop_reason = None
        for b in range(start_batch, steps_per_epoch):
            idx = order[b * batch_size : (b + 1) * batch_size]
            n_batch = idx.shape[0]
            if ranks is not None:
                idx = ranks.shard(idx)
            x, y = train_x[idx], train_y[idx]
            if config.augment_shift:
                x = random_shift(x, config.augment_shift, shift_gen)
            progress = epoch + b / steps_per_epoch
            if config.lr_schedule == "cosine":
                schedule_elapsed = time.perf_counter() - start if ranks is None else agreed_elapsed
                for group in optimizer.param_groups:
                    group["lr"] = cosine_lr(config.lr, _schedule_fraction(progress, config, schedule_elapsed))
            weight = kl_weight(progress, config.beta, config.warmup_epochs) if model.is_variational else 0.0
            with contextlib.nullcontext() if amp_dtype is None else torch.autocast(device.type, dtype=amp_dtype):
                terms = net(x, y, generator=noise_gen)
            # The loss is summed outside autocast: the likelihood and KL terms come out of it in float32,
            # as autocast runs BCE-with-logits, exp, pow and sum in float32.
            loss = training_loss(terms, weight, config.free_bits)
            agreed = None
            if ranks is not None:
                agreed = ranks.agree_on_step(
                    terms, loss, n_batch, stop_requested=stop_event is not None and stop_event.is_set(),
                    time_up=config.time_limit is not None and time.perf_counter() - start >= config.time_limit,
                    elapsed_s=time.perf_counter() - start)
            watched = loss if agreed is None else torch.tensor(agreed.loss)  # every rank sees the same global loss
            if not torch.isfinite(watched):
                model.load_state_dict(snapshot.model_state)
                optimizer.load_state_dict(snapshot.optimizer_state)
                state = "diverged"
                message = _diverged_message(f"the loss became {'NaN' if torch.isnan(watched) else 'infinite'}",
                                            epoch, step + 1, snapshot, config.lr)
                stop_reason = state
                epochs_done, step = snapshot.epochs_done, snapshot.step
                break
            optimizer.zero_grad(set_to_none=True)
            backward_loss = loss if ranks is None else loss * ranks.gradient_weight(x.shape[0], n_batch)
            if scaler is None:
                backward_loss.backward()
                optimizer.step()
            else:
                scaler.scale(backward_loss).backward()
                scaler.step(optimizer)  # skipped when the scaled gradients overflowed
                scaler.update()
            step += 1
            n_steps += 1
            seen += n_batch
            elapsed = time.perf_counter() - start
            record = _step_record(terms, loss, agreed, epoch, step, progress + 1 / steps_per_epoch, config, weight,
                                  seen / max(elapsed, 1e-9), elapsed_before + elapsed)
            for key in sums:
                sums[key] += record["train"][key]
            steps.append(record)
            if callback is not None:
                callback(record)
            stop_requested = stop_event is not None and stop_event.is_set()
            time_up = config.time_limit is not None and elapsed >= config.time_limit
            if agreed is not None:  # all ranks stop at the same step, or the others would wait for them forever
                stop_requested, time_up, agreed_elapsed = agreed.stop_requested, agreed.time_up, agreed.elapsed_s
            if stop_requested:
                stop_reason, state, message = "stopped", "stopped", f"stopped by request at step {step}"
                break
            if time_up:
                stop_reason, state = "time_limit", "time_limit"
                message = f"stopped after the time limit of {config.time_limit:g} s, at step {step}"
                break
        if stop_reason == "diverged":
            break
        finished_epoch = stop_reason is None
        if finished_epoch:
            epochs_done = epoch + 1
        if n_steps > 0:
            elapsed = time.perf_counter() - start
            record = _epoch_record(model, (test_x, test_y), sums, n_steps, epochs_done if finished_epoch else progress + 1 / steps_per_epoch,
                                   step, config, weight, seen / max(elapsed, 1e-9), elapsed_before + elapsed)
            record["partial"] = not finished_epoch
            history.append(record)
            if callback is not None:
                callback(record)
        if finished_epoch:
            model_state = model.state_dict()
            if _finite_state(model_state):
                snapshot = _Snapshot(copy.deepcopy(model_state), copy.deepcopy(optimizer.state_dict()), epochs_done, step)
        if stop_reason is not None:
            break

    if state != "diverged" and not _finite_state(model.state_dict()):
        # The last step before the end (or a stop) can turn the weights NaN while its loss was finite;
        # no later loss sees it, so check here rather than save NaN weights.
        model.load_state_dict(snapshot.model_state)
        optimizer.load_state_dict(snapshot.optimizer_state)
        state = "diverged"
        last_epoch = int(steps[-1]["epoch"]) if steps else epochs_done
        message = _diverged_message("the weights became NaN or infinite", last_epoch, step, snapshot, config.lr)
        epochs_done, step = snapshot.epochs_done, snapshot.step
    if state == "diverged":
        # Epoch records after the kept weights describe weights that are gone (their test −ELBO may be NaN).
        history = [r for r in history if r["step"] <= step]
    model.eval()
    status = {"state": state, "message": message, "epochs_done": epochs_done, "step": step}
    return TrainResult(model, history, steps, status, optimizer.state_dict())


def _diverged_message(what: str, epoch: int, step: int, kept: _Snapshot, lr: float) -> str:
    """One line for the user: what happened, which weights were kept, what to change."""
    weights = ("The initial weights were kept" if kept.step == 0
               else f"The weights after {kept.epochs_done} epoch(s), step {kept.step}, were kept")
    return (f"Training stopped at epoch {epoch + 1}, step {step}: {what}. {weights}. Try a smaller learning rate "
            f"(now {lr:g}, e.g. {lr / 10:g}), a larger decoder variance c, or KL warm-up.")


def _previous_progress(previous_metrics: dict | None) -> tuple[list[dict], list[dict], int, int, dict | None]:
    """History, steps, finished epochs, step count and the stopped epoch's partial record to continue from."""
    if not previous_metrics:
        return [], [], 0, 0, None
    status = previous_metrics.get("status") or {}
    epochs_done = int(status.get("epochs_done", 0))
    records = previous_metrics.get("history", [])
    history = [r for r in records if not r.get("partial") and r["epoch"] <= epochs_done]
    # The saved weights and optimizer state are those of status["step"], mid-epoch after a stop.
    step = max(int(history[-1]["step"]) if history else 0, int(status.get("step", 0)))
    partial = next((r for r in records if r.get("partial") and r["step"] == step), None)
    steps = [r for r in previous_metrics.get("steps", []) if r["step"] <= step]
    return history, steps, epochs_done, step, partial


def _step_record(terms, loss, agreed, epoch, step, progress, config, weight, samples_per_s, elapsed) -> dict:
    """The step's metrics record: this batch's numbers, or with `agreed` (distributed) the global batch's."""
    with torch.no_grad():
        if agreed is not None:
            values, kl_per_dim, mu_var = agreed.values, agreed.kl_per_dim, agreed.mu_var
        else:
            kl_per_dim = terms.kl_per_dim.mean(0)
            mu_var = terms.mu.var(0) if terms.mu.shape[0] > 1 else torch.zeros_like(kl_per_dim)
            values = torch.stack([terms.neg_elbo.mean(), terms.recon.mean(), terms.kl.mean(), loss.detach()]).tolist()
        return {
            "kind": "step",
            "epoch": epoch,
            "step": step,
            "epoch_progress": progress,
            "total_epochs": config.epochs,
            "train": dict(zip(("neg_elbo", "recon", "kl", "loss"), values)),
            "kl_per_dim": kl_per_dim.tolist(),
            "active_units": int((mu_var > ACTIVE_UNIT_THRESHOLD).sum()),
            "kl_weight": weight,
            "samples_per_s": samples_per_s,
            "elapsed_s": elapsed,
        }


def _epoch_record(model, test, sums, n_steps, epoch, step, config, weight, samples_per_s, elapsed) -> dict:
    test_x, test_y = test
    model.eval()
    test = evaluate(model, test_x, seed=config.seed, y=test_y) if test_x.shape[0] > 0 else None
    model.train()
    record = {
        "kind": "epoch",
        "epoch": epoch,
        "step": step,
        "total_epochs": config.epochs,
        "train": {k: v / n_steps for k, v in sums.items()},
        "test": None,
        "kl_per_dim": [],
        "active_units": 0,
        "kl_weight": weight,
        "samples_per_s": samples_per_s,
        "elapsed_s": elapsed,
    }
    if test is not None:
        record["test"] = {k: test[k] for k in ("neg_elbo", "recon", "kl")}
        record["kl_per_dim"] = test["kl_per_dim"]
        record["active_units"] = test["active_units"]
    return record
