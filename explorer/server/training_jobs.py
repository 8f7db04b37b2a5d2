"""Training jobs that outlive a page or a session: one JobManager per server runs at most N at once.

Each job trains in a background thread that calls no Streamlit function. It writes into a plain
object guarded by a lock; the page's fragment reads a copy (`JobManager.view`) once a second.
Starts beyond the cap wait in a queue and begin when a slot frees; no job fails because of the cap.
Each job has an owner, the token of the browser that started it (explorer/components/browser_token.py):
that browser finds and stops its jobs after a reload or from another tab; no other browser can stop them.
"""
from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer.server.torch_threads import for_training
from vae_core.analysis import encode_dataset, map_projection
from vae_core.models import ModelConfig
from vae_core.runs.checkpoint import read_run_config, read_run_metrics
from vae_core.runs.names import RunNameClaim, RunNameTaken, claim_run_name, sanitize_run_name
from vae_core.training.config import TrainConfig
from vae_core.training.records import thin_steps
from vae_core.training.run import resume_run, train_run

MAX_JOBS_ENV = "VAE_MAX_TRAINING_JOBS"
DEFAULT_MAX_JOBS = 2
MAX_LATENT_POINTS = 2000
MAX_KEPT_STEPS = 5000
MAX_KEPT_SNAPSHOTS = 200
MAX_KEPT_DONE_JOBS = 50  # a long-lived server forgets the oldest finished jobs; their runs stay on disk

WAITING, STARTING, RUNNING = "queued", "starting", "running"
TRAINER_STATES = ("finished", "stopped", "time_limit", "diverged")  # what vae_core's trainer ends with
FAILED, CANCELLED = "failed", "cancelled"
DONE_STATES = (*TRAINER_STATES, FAILED, CANCELLED)


def epochs_trained(metrics: dict) -> float:
    """Epochs a run's metrics (metrics.json, or a job's records) have trained: the last step's progress, or 0."""
    steps = metrics.get("steps") or []
    return float(steps[-1]["epoch_progress"]) if steps else 0.0


def max_jobs_from_env() -> int:
    """The cap on concurrent jobs: $VAE_MAX_TRAINING_JOBS, default 2; a bad value raises ValueError."""
    text = os.environ.get(MAX_JOBS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_JOBS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise ValueError(f"{MAX_JOBS_ENV}: expected a whole number from 1 to 64, got {text!r}")
    return value


@dataclass
class LatentSnapshot:
    """Test-set codes on the plane of analysis.map_projection (the codes for d ≤ 2, else their PCA) after
    `epoch` epochs (0 = untrained)."""

    epoch: float
    points: np.ndarray  # [N, 2]
    method: str  # the projection's: "identity" or "pca"
    axis_titles: tuple[str, str]


@dataclass
class _JobSettings:
    """What a job trains: its id, its run's name and folder, the dataset spec and the two configs."""

    id: str
    name: str
    run_dir: Path
    dataset_spec: str
    model_config: ModelConfig
    train_config: TrainConfig


@dataclass
class JobView(_JobSettings):
    """A copy of one job's state, safe to read without a lock. Loss values are nats per image."""

    state: str
    message: str
    queue_position: int | None  # 1 = next to start; None once started
    steps: list[dict]
    history: list[dict]
    snapshots: list[LatentSnapshot]
    labels: np.ndarray | None  # [N] labels of the snapshot points
    class_names: list[str]
    submitted_at: float
    started_at: float | None
    ended_at: float | None
    saved: bool

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def epochs_done(self) -> float:
        """Epochs trained so far, fractional while an epoch is in progress."""
        return float(self.steps[-1]["epoch_progress"]) if self.steps else 0.0

    @property
    def progress(self) -> float:
        """Fraction of the requested epochs done, 0 to 1."""
        return min(1.0, self.epochs_done / self.train_config.epochs)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (test evaluations included); None before the first step or once done."""
        if self.done or not self.steps or self.progress <= 0:
            return None
        elapsed = float(self.steps[-1]["elapsed_s"])
        return elapsed * (1.0 - self.progress) / self.progress


@dataclass
class _Job(_JobSettings):
    """The live state one training thread writes; every field is read and written under `lock`."""

    max_latent_points: int
    owner: str  # the token of the browser that started the job; only it may stop the job
    claim: RunNameClaim  # held from submit until the run is saved or the job ends without one
    resume: bool = False  # continue the saved run in run_dir instead of starting a new one
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_event: threading.Event = field(default_factory=threading.Event)
    state: str = WAITING
    message: str = "waiting for a free training slot"
    steps: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    snapshots: list[LatentSnapshot] = field(default_factory=list)
    labels: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    saved: bool = False
    finished: threading.Event = field(default_factory=threading.Event)

    def update(self, **values) -> None:
        with self.lock:
            for key, value in values.items():
                setattr(self, key, value)


class JobManager:
    """Starts, queues, stops and reports training jobs; one instance per server (see `server_job_manager`)."""

    def __init__(self, runs_root: str | Path, max_running: int = DEFAULT_MAX_JOBS, data_dir: str | None = None,
                 max_latent_points: int = MAX_LATENT_POINTS):
        if max_running < 1:
            raise ValueError(f"max running jobs: expected at least 1, got {max_running}")
        self.runs_root = Path(runs_root)
        self.max_running = max_running
        self.data_dir = data_dir
        self.max_latent_points = max_latent_points
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[str] = deque()
        self._running: set[str] = set()
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ called from the UI

    def submit(self, model_config: ModelConfig, train_config: TrainConfig, dataset_spec: str, run_name: str,
               owner: str = "") -> str:
        """Queue a job for `owner` (a browser's token) and start it if a slot is free; returns its id.

        Raises ValueError (naming 'run name') when the name is invalid, already saved, or held by a
        job of this or another server that has not ended."""
        name = sanitize_run_name(run_name)
        # The claim, not a look at the folder, reserves the name: another server process or the CLI
        # may be picking the same one at this moment.
        claim = claim_run_name(self.runs_root, name)
        return self._enqueue(lambda job_id: _Job(job_id, name, claim.run_dir, dataset_spec, model_config, train_config,
                                                 self.max_latent_points, owner, claim))

    def submit_resume(self, run_dir: str | Path, epochs: int, owner: str = "") -> str:
        """Queue a job that continues a saved run of this manager's runs folder up to `epochs`, with its
        optimizer state; returns its id. The job's curves start with the run's saved ones.

        Raises ValueError naming 'run' (not in the runs folder, unreadable, never trained here, or
        being trained by another session) or 'epochs' (no more than the run has done)."""
        run_dir = Path(run_dir)
        if run_dir.resolve().parent != self.runs_root.resolve():
            raise ValueError(f"run {run_dir.name!r}: only runs in the runs folder {self.runs_root} can be continued")
        config, metrics = read_run_config(run_dir), read_run_metrics(run_dir)  # ValueErrors name the file
        if config.get("train") is None:
            raise ValueError(f"run {run_dir.name!r}: it has no training recipe (it was imported), so it cannot be continued")
        done = epochs_trained(metrics)
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs <= done:
            raise ValueError(f"epochs: the run has trained {format_epochs(done)} epochs; ask for more than that, "
                             f"got {epochs!r}")
        train_config = TrainConfig.from_dict({**config["train"], "epochs": epochs, "time_limit": None})
        model_config = ModelConfig.from_dict(config["model"])
        try:
            claim = claim_run_name(self.runs_root, run_dir.name, new=False, wait_s=0.0)
        except RunNameTaken:
            raise ValueError(f"run {run_dir.name!r}: another session is training it right now; continue it "
                             "when that job has ended") from None
        return self._enqueue(lambda job_id: _Job(
            job_id, run_dir.name, claim.run_dir, config["dataset"]["spec"], model_config, train_config,
            self.max_latent_points, owner, claim, resume=True, steps=list(metrics.get("steps", [])),
            history=list(metrics.get("history", [])), message="waiting for a free training slot to continue the run",
        ))  # fmt: skip

    def _enqueue(self, make_job) -> str:
        """Register the job make_job(job_id) builds, queue it, and start it if a slot is free; returns its id."""
        with self._lock:
            job_id = f"job-{next(self._ids)}"
            self._forget_old_jobs()
            self._jobs[job_id] = make_job(job_id)
            self._queue.append(job_id)
            self._start_ready()
        return job_id

    def stop(self, job_id: str, owner: str = "") -> None:
        """A waiting job is cancelled (nothing saved); a running one stops after its current step and is saved.

        Raises PermissionError unless `owner` started the job."""
        with self._lock:
            job = self._jobs[job_id]
            if job.owner != owner:
                raise PermissionError(f"job {job.name!r} was started from another browser; only that browser can stop it")
            if job_id in self._queue:
                self._queue.remove(job_id)
                job.update(state=CANCELLED, message="cancelled before it started; nothing was saved", ended_at=time.time())
                job.claim.release()
                job.finished.set()
                return
        job.stop_event.set()
        with job.lock:
            if job.state not in DONE_STATES:
                job.message = "stopping after the current step, then saving the run"

    def view(self, job_id: str) -> JobView | None:
        """A snapshot of one job's state, or None for an unknown id (e.g. after a server restart)."""
        with self._lock:
            job = self._jobs.get(job_id)
            position = self._queue.index(job_id) + 1 if job_id in self._queue else None
        if job is None:
            return None
        with job.lock:
            return JobView(
                id=job.id, name=job.name, run_dir=job.run_dir, dataset_spec=job.dataset_spec,
                model_config=job.model_config, train_config=job.train_config, state=job.state,
                message=job.message, queue_position=position, steps=list(job.steps), history=list(job.history),
                snapshots=list(job.snapshots), labels=job.labels, class_names=list(job.class_names),
                submitted_at=job.submitted_at, started_at=job.started_at, ended_at=job.ended_at, saved=job.saved,
            )

    def job_ids(self, owner: str | None = None) -> list[str]:
        """The ids of the jobs the server knows, oldest first; only `owner`'s when given."""
        with self._lock:
            return [job_id for job_id, job in self._jobs.items() if owner is None or job.owner == owner]

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Block until the job is done; True if it is. For tests and scripts, never for a page."""
        with self._lock:
            job = self._jobs[job_id]
        return job.finished.wait(timeout)

    # ------------------------------------------------------------------ scheduling

    def _start_ready(self) -> None:
        """Start waiting jobs while slots are free. The caller holds self._lock."""
        while self._queue and len(self._running) < self.max_running:
            job_id = self._queue.popleft()
            job = self._jobs[job_id]
            self._running.add(job_id)
            job.update(state=STARTING, message="loading the dataset and building the model", started_at=time.time())
            threading.Thread(target=self._run, args=(job,), name=f"vae-train-{job_id}", daemon=True).start()

    def _forget_old_jobs(self) -> None:
        """Drop the oldest finished jobs beyond MAX_KEPT_DONE_JOBS. The caller holds self._lock."""
        done = [job_id for job_id, job in self._jobs.items() if job.finished.is_set()]
        for job_id in done[: max(0, len(done) - MAX_KEPT_DONE_JOBS)]:
            del self._jobs[job_id]

    def _finish(self, job: _Job, ending: dict) -> None:
        # The name is given back before the job shows as ended, so that "continue this run" (or a new job
        # of that name) right after the page shows "Finished" finds it free.
        job.claim.release()
        job.update(**ending, ended_at=time.time())
        with self._lock:
            self._running.discard(job.id)
            self._start_ready()
        job.finished.set()

    # ------------------------------------------------------------------ the training thread

    def _run(self, job: _Job) -> None:
        for_training()
        ending = {"state": FAILED, "message": "training failed: the training thread was interrupted"}
        try:
            status = self._train(job)
            ending = {"state": status["state"], "message": status["message"], "saved": True}
        except Exception as err:  # the thread must end cleanly and say why; the UI shows the message
            reason = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            ending = {"state": FAILED, "message": f"training failed: {reason}"}
        finally:
            self._finish(job, ending)

    def _train(self, job: _Job) -> dict:
        """Train (or continue) the job's run and save it; returns the trainer's status."""
        train_config = job.train_config
        probe: dict = {}

        def on_start(model, dataset) -> None:
            # A fixed subset of the test set, encoded at every epoch end, replays how the map formed.
            n_points = min(job.max_latent_points, dataset.test_x.shape[0])
            order = torch.randperm(dataset.test_x.shape[0], generator=torch.Generator().manual_seed(0))[:n_points]
            # A conditional model encodes q(z | x, y), so its probe images keep their labels.
            probe.update(model=model, x=dataset.test_x[order], y=dataset.test_y[order] if model.is_conditional else None)
            job.update(labels=dataset.test_y[order].numpy().copy(), class_names=list(dataset.class_names),
                       model_config=model.config, state=RUNNING, message="training")
            # A continued run's replay starts where the saved run stopped.
            with job.lock:
                start = epochs_trained({"steps": job.steps}) if job.resume else 0.0
            self._add_snapshot(job, model, probe["x"], start, probe["y"])

        def callback(record: dict) -> None:
            if record["kind"] == "epoch":
                self._add_snapshot(job, probe["model"], probe["x"], float(record["epoch"]), probe["y"])
            with job.lock:
                if record["kind"] == "step":
                    job.steps.append(record)
                    if len(job.steps) > 2 * MAX_KEPT_STEPS:
                        job.steps = thin_steps(job.steps, MAX_KEPT_STEPS)
                else:
                    job.history.append(record)

        if job.resume:
            result = resume_run(job.run_dir, epochs=train_config.epochs, data_dir=self.data_dir, callback=callback,
                                stop_event=job.stop_event, on_start=on_start, claim=job.claim)
        else:
            result = train_run(job.model_config, train_config, job.dataset_spec, job.run_dir, data_dir=self.data_dir,
                               callback=callback, stop_event=job.stop_event, on_start=on_start, claim=job.claim)
        return result.status

    @staticmethod
    def _add_snapshot(job: _Job, model, probe_x: torch.Tensor, epoch: float, probe_y: torch.Tensor | None) -> None:
        was_training = model.training
        model.eval()
        try:
            mu, _ = encode_dataset(model, probe_x, y=probe_y)
        finally:
            model.train(was_training)
        if not torch.isfinite(mu).all():
            return  # a diverging model; the trainer reports it
        projection = map_projection(mu)
        snapshot = LatentSnapshot(epoch, projection(mu), projection.method, projection.axis_titles)
        with job.lock:
            job.snapshots.append(snapshot)
            if len(job.snapshots) > MAX_KEPT_SNAPSHOTS:
                # Keep the untrained map and the newest; thin the middle evenly.
                job.snapshots = job.snapshots[:1] + job.snapshots[1:-1:2] + job.snapshots[-1:]


_managers: dict[tuple[str, int], JobManager] = {}
_managers_lock = threading.Lock()


def server_job_manager(runs_root: str, max_running: int) -> JobManager:
    """The one JobManager of this server process for a runs folder and cap; jobs survive page switches.

    A plain module-level registry, not st.cache_resource: any browser can send Streamlit's
    clear-cache message, and that must not make a class's running jobs vanish from every page."""
    with _managers_lock:
        key = (str(runs_root), int(max_running))
        if key not in _managers:
            _managers[key] = JobManager(runs_root, max_running)
        return _managers[key]


def format_epochs(epochs: float) -> str:
    """Epochs for people, never more than were done: 9.19444 -> '9.1', 20.0 -> '20', 0.99 -> '0.9',
    0.04 -> '0.04' (a first epoch under way is not '0')."""
    if 0 < epochs < 0.1:
        return f"{math.floor(epochs * 100) / 100:.2f}"
    text = f"{math.floor(epochs * 10 + 1e-9) / 10:.1f}"
    return text[: -len(".0")] if text.endswith(".0") else text


def format_eta(seconds: float | None) -> str:
    """'about 1 min 20 s left', or '' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"about {hours} h {minutes} min left"
    if minutes:
        return f"about {minutes} min {secs} s left"
    return f"about {secs} s left"


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th': for 'waiting: 2nd in line'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
