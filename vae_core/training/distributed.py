"""Data-parallel training across processes started by torchrun: gloo on the CPU, nccl on CUDA GPUs.

`torchrun --nproc_per_node=N -m vae_core train ...` starts N copies of the CLI with RANK, WORLD_SIZE and
LOCAL_RANK (and the rendezvous address) in their environment. Each copy loads the same data and
draws the same shuffled order of every epoch from the same seed; of each global batch of
`--batch-size` images, rank r takes images r, r + N, r + 2N, ... So `--batch-size` is the global
batch, and a run on N processes follows the same recipe as a run on one.

DistributedDataParallel averages the gradients over ranks; each rank's loss is first weighted by its
share of the global batch, so an uneven last batch still gives the gradient of the global mean (with
`--free-bits` the clamp sees each rank's part of the batch, a small approximation). The loss terms
are summed over ranks before they are logged, so every rank logs the global batch's numbers and
takes the same decisions (NaN, stop, time limit). Only rank 0 evaluates the test split and saves.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.distributed as dist

from vae_core.runs.checkpoint import weights_file_bytes
from vae_core.training.device import resolve_device

TORCHRUN_ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
# Per-rank random streams (ε, shifts) are offset by this prime times the rank; rank 0 keeps the
# single-process stream.
RANK_SEED_STRIDE = 104_729

_current: "RankGroup | None" = None


@dataclass(frozen=True)
class RankGroup:
    """This process's place among the ranks, and the device it trains on (cuda:LOCAL_RANK or cpu)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rank_seed(self, seed: int) -> int:
        """A seed for this rank's own random stream (ε, augmentation); rank 0 gets `seed` itself."""
        return seed + RANK_SEED_STRIDE * self.rank

    def steps_per_epoch(self, n_train: int, batch_size: int) -> int:
        """Global batches per epoch; a last batch smaller than the world is dropped so no rank gets none."""
        if batch_size < self.world_size:
            raise ValueError(
                f"batch size {batch_size} is smaller than the {self.world_size} processes: --batch-size is the "
                f"global batch, split between the processes; use at least {self.world_size}"
            )
        steps = -(-n_train // batch_size)
        if steps > 1 and n_train - (steps - 1) * batch_size < self.world_size:
            steps -= 1
        return steps

    def shard(self, global_batch: torch.Tensor) -> torch.Tensor:
        """This rank's images of one global batch of indices: every world_size-th, starting at its rank."""
        return global_batch[self.rank :: self.world_size]

    def shift_generator(self, order_generator: torch.Generator, seed: int) -> torch.Generator:
        """The random stream of this rank's augmentation shifts: its own, since every rank must draw the same
        epoch orders from the order generator."""
        return torch.Generator().manual_seed(self.rank_seed(seed))

    def wrap(self, model: torch.nn.Module) -> torch.nn.parallel.DistributedDataParallel:
        """DDP over `model`; it copies rank 0's weights to every rank on construction."""
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def scale_loss(self, loss: torch.Tensor, n_local: int, n_global: int) -> torch.Tensor:
        """This rank's mean loss weighted by its share of the global batch, so DDP's average over ranks is the
        global batch's mean gradient."""
        return loss * (n_local * self.world_size / n_global)

    def stop_after_step(self, agreed: "AgreedStep", stop_requested: bool, time_up: bool) -> tuple[bool, bool]:
        """Whether to stop now: what the ranks agreed on at this step, so all of them stop at the same one."""
        return agreed.stop_requested, agreed.time_up

    def agree_on_step(self, terms, loss: torch.Tensor, n_global: int, *, stop_requested: bool,
                      time_up: bool, elapsed_s: float) -> "AgreedStep":
        """One all-reduce: the global batch's loss terms and whether any rank wants to stop."""
        n_local = terms.neg_elbo.shape[0]
        mu = terms.mu.detach().double()
        sums = torch.cat([
            torch.stack([terms.neg_elbo, terms.recon, terms.kl], dim=1).detach().double().sum(0),
            (loss.detach().double() * n_local).reshape(1),
            torch.tensor([float(stop_requested), float(time_up), elapsed_s], dtype=torch.float64, device=mu.device),
            terms.kl_per_dim.detach().double().sum(0), mu.sum(0), mu.pow(2).sum(0),
        ])
        dist.all_reduce(sums)
        neg_elbo, recon, kl, loss_sum, stops, time_ups, elapsed_sum = sums[:7].tolist()
        kl_per_dim_sum, mu_sum, mu_sq_sum = sums[7:].reshape(3, mu.shape[1])
        mu_mean = mu_sum / n_global
        # Var of μ over the global batch, unbiased like torch.var in the single-process trainer.
        if n_global > 1:
            mu_var = ((mu_sq_sum - n_global * mu_mean.pow(2)) / (n_global - 1)).clamp(min=0)
        else:
            mu_var = torch.zeros_like(mu_mean)
        values = [neg_elbo / n_global, recon / n_global, kl / n_global, loss_sum / n_global]
        return AgreedStep(values, (kl_per_dim_sum / n_global).float(), mu_var.float(), stops > 0, time_ups > 0,
                          elapsed_sum / self.world_size)


@dataclass
class AgreedStep:
    """A training step as every rank sees it after the all-reduce; losses per image, nats."""

    values: list[float]  # global batch means of neg_elbo, recon, kl and the training loss
    kl_per_dim: torch.Tensor  # [d]
    mu_var: torch.Tensor  # [d], variance of μ over the global batch
    stop_requested: bool  # some rank was asked to stop (Ctrl-C)
    time_up: bool  # some rank reached the time limit
    elapsed_s: float  # mean over ranks of the training time so far; the same number on every rank

    @property
    def loss(self) -> float:
        return self.values[3]


@dataclass(frozen=True)
class SingleProcess:
    """Ordinary training in one process, with a RankGroup's interface: sharding, wrapping and agreeing change
    nothing, so the trainer has one code path."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    is_main: bool = True

    def rank_seed(self, seed: int) -> int:
        return seed

    def steps_per_epoch(self, n_train: int, batch_size: int) -> int:
        return math.ceil(n_train / batch_size)

    def shard(self, global_batch: torch.Tensor) -> torch.Tensor:
        return global_batch

    def shift_generator(self, order_generator: torch.Generator, seed: int) -> torch.Generator:
        """One process draws its shifts from the order generator's stream, after each epoch's order."""
        return order_generator

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return model

    def scale_loss(self, loss: torch.Tensor, n_local: int, n_global: int) -> torch.Tensor:
        return loss

    def agree_on_step(self, terms, loss: torch.Tensor, n_global: int, *, stop_requested: bool,
                      time_up: bool, elapsed_s: float) -> "AgreedStep":
        """This batch's loss terms as they are: there is no one else to agree with."""
        with torch.no_grad():
            kl_per_dim = terms.kl_per_dim.mean(0)
            mu_var = terms.mu.var(0) if terms.mu.shape[0] > 1 else torch.zeros_like(kl_per_dim)
            values = torch.stack([terms.neg_elbo.mean(), terms.recon.mean(), terms.kl.mean(), loss.detach()]).tolist()
        return AgreedStep(values, kl_per_dim, mu_var, stop_requested, time_up, elapsed_s)

    def stop_after_step(self, agreed: "AgreedStep", stop_requested: bool, time_up: bool) -> tuple[bool, bool]:
        """Whether to stop now, as asked after this step (a Stop pressed during it counts at once)."""
        return stop_requested, time_up


def ranks_from_environment() -> tuple[int, int, int] | None:
    """(rank, world size, local rank) when torchrun started this process, else None."""
    if not all(name in os.environ for name in TORCHRUN_ENV_VARS):
        return None
    try:
        rank, world_size, local_rank = (int(os.environ[name]) for name in TORCHRUN_ENV_VARS)
    except ValueError:
        raise ValueError(f"torchrun environment: {', '.join(TORCHRUN_ENV_VARS)} must be whole numbers") from None
    if not (0 <= rank < world_size and 0 <= local_rank):
        raise ValueError(f"torchrun environment: RANK={rank}, WORLD_SIZE={world_size}, LOCAL_RANK={local_rank} do not fit")
    return rank, world_size, local_rank


@contextlib.contextmanager
def process_group(device_name: str = "auto") -> Iterator[RankGroup | None]:
    """Under torchrun, join the process group for the block (nccl for CUDA, gloo for the CPU) and
    yield this rank's RankGroup; in an ordinary process yield None and change nothing."""
    global _current
    ranks = ranks_from_environment()
    if ranks is None or ranks[1] == 1:
        yield None
        return
    rank, world_size, local_rank = ranks
    device = resolve_device(device_name)
    if device.type == "mps":
        raise ValueError("distributed training runs on CUDA GPUs (nccl) or CPUs (gloo); MPS has no backend, use --device cpu")
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK {local_rank} has no GPU: this node has {torch.cuda.device_count()}; "
                "use --nproc_per_node at most the number of GPUs"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    _current = RankGroup(rank, world_size, local_rank, device)
    try:
        yield _current
    finally:
        _current = None
        dist.destroy_process_group()


def active_group() -> RankGroup | None:
    """The RankGroup this process trains in, or None for ordinary single-process training."""
    return _current


def training_group(device_name: str = "auto") -> RankGroup | SingleProcess:
    """The group a training run in this process belongs to: the torchrun group, else one process on `device_name`."""
    return _current if _current is not None else SingleProcess(resolve_device(device_name))


def is_main_process() -> bool:
    """True outside distributed training and on rank 0: the process that logs and saves."""
    return _current is None or _current.is_main


def weights_sha256(model: torch.nn.Module) -> str:
    """sha256 of the model's weights serialised as the run's model.safetensors (its config's weights_sha256)."""
    return hashlib.sha256(weights_file_bytes(model)).hexdigest()


def gather_weights_sha256(model: torch.nn.Module) -> list[str]:
    """Every rank's weights_sha256, in rank order (a collective: all ranks must call it)."""
    digests: list[str | None] = [None] * dist.get_world_size()
    dist.all_gather_object(digests, weights_sha256(model))
    return [str(d) for d in digests]
