"""`python -m vae_core`: train, evaluate, sample, list and import runs from the shell.

Every bad argument ends in an argparse-style message (`usage: ...` and `error: ...`, exit 2),
never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

DEFAULT_RUNS_ROOT = "runs"


def _int_at_least(minimum: int):
    """An argparse type: a whole number ≥ minimum, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number ≥ {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _comma_list(parse, field: str, example: str):
    """An argparse type for a comma list, parsed by vae_core.fields (its message, without the field's name)."""
    from vae_core.fields import ConfigError

    def parse_text(text: str):
        try:
            return parse(text, field, example)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix(f"{field.replace('_', ' ')}: ")) from None

    return parse_text


def _int_list(text: str) -> tuple[int, ...]:
    from vae_core.fields import parse_int_list

    return _comma_list(parse_int_list, "sizes", "512,256")(text)


def _beta_list(text: str) -> tuple[float, ...]:
    from vae_core.fields import parse_number_list

    values = _comma_list(parse_number_list, "beta", "1,2,4,8")(text)
    if min(values) < 0 or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct numbers ≥ 0 such as 1,2,4,8, got {text!r}")
    return values


def _vote_counts(text: str) -> tuple[int, int]:
    values = _int_list(text)
    if len(values) != 2 or min(values) < 2:
        raise argparse.ArgumentTypeError(f"expected two whole numbers ≥ 2, TRAIN,EVAL such as 10000,5000, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vae_core", description="Train and inspect VAEs and AEs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate,sample,list,import,sweep}")
    for add in (_add_train, _add_evaluate, _add_sample, _add_list, _add_import, _add_sweep):
        add(sub)
    return parser


def _add_train(sub) -> None:
    """`train`: every setting of a new run's ModelConfig and TrainConfig, or --resume."""
    from vae_core.data import DATASET_SPECS_HELP
    from vae_core.models.config import ARCHS, KINDS, LIKELIHOODS
    from vae_core.training.config import AMP_MODES, LR_SCHEDULES

    t = sub.add_parser("train", help="train a VAE or AE and save it as a run folder",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=DATASET_SPECS_HELP)
    t.add_argument("--dataset", default="mnist5k", help="dataset spec (default: mnist5k; see below)")
    t.add_argument("--data-dir", default=None, help="folder for downloadable datasets (default: $VAE_DATA_DIR or ./data)")
    t.add_argument("--model", choices=KINDS, default="vae", help="vae, ae, or cvae (a VAE conditioned on the label)")
    t.add_argument("--num-classes", type=_int_at_least(2), default=None,
                   help="classes a cvae conditions on (default: the dataset's number of classes)")
    t.add_argument("--arch", choices=ARCHS, default="mlp")
    t.add_argument("--latent-dim", type=_positive_int, default=2)
    t.add_argument("--hidden-sizes", type=_int_list, default=(512, 256), help="dense layer sizes, e.g. 512,256")
    t.add_argument("--conv-channels", type=_int_list, default=(32, 64), help="conv channels per stride-2 layer, e.g. 32,64")
    t.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli")
    t.add_argument("--c", type=_finite_float, default=1.0, help="decoder variance c of the Gaussian likelihood")
    t.add_argument("--beta", type=_finite_float, default=1.0, help="weight of the KL term")
    t.add_argument("--warmup-epochs", type=_finite_float, default=0.0, help="linear KL warm-up length in epochs")
    t.add_argument("--free-bits", type=_finite_float, default=0.0, help="minimum KL per latent dim, nats")
    t.add_argument("--epochs", type=_positive_int, default=30)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--lr", type=_finite_float, default=1e-3)
    t.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant",
                   help="cosine decays the learning rate to 0 over --epochs")
    t.add_argument("--augment-shift", type=_non_negative_int, default=0,
                   help="shift each training image by up to N pixels at random (0: off)")
    t.add_argument("--seed", type=_non_negative_int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps; under torchrun cpu uses gloo, cuda nccl")
    t.add_argument("--amp", nargs="?", const="fp16", default="off", choices=AMP_MODES,
                   help="mixed precision on a CUDA GPU: --amp (fp16 with loss scaling) or --amp bf16 (default: off)")
    t.add_argument("--time-limit", type=_finite_float, default=None, help="stop after this many seconds of training")
    t.add_argument("--out", default=DEFAULT_RUNS_ROOT, help=f"runs folder (default: {DEFAULT_RUNS_ROOT})")
    t.add_argument("--name", default=None, help="run name (default: made from the settings)")
    t.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue this run up to --epochs")
    t.add_argument("--no-optimizer-state", action="store_true",
                   help="do not save optimizer.safetensors (smaller run; cannot --resume with Adam's state)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_evaluate(sub) -> None:
    """`evaluate`: the −ELBO terms and the IWAE estimate of a run on a split."""
    e = sub.add_parser("evaluate", help="−ELBO, reconstruction, KL and the IWAE estimate of a run")
    e.add_argument("run_dir")
    e.add_argument("--dataset", default=None, help="dataset spec (default: the run's own)")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--split", choices=("train", "test", "all"), default="test")
    e.add_argument("--iw-samples", type=_non_negative_int, default=0, help="k for the importance-weighted bound (0: skip)")
    e.add_argument("--batch-size", type=_positive_int, default=500)
    e.add_argument("--seed", type=_non_negative_int, default=0)
    e.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    e.add_argument("--json", action="store_true", help="print one JSON object")


def _add_sample(sub) -> None:
    """`sample`: prior samples (for a cvae, one row per class) as a PNG grid."""
    s = sub.add_parser("sample", help="decode samples from the prior into a PNG grid")
    s.add_argument("run_dir")
    s.add_argument("--n", type=_positive_int, default=64)
    s.add_argument("--out", default="samples.png")
    s.add_argument("--seed", type=_non_negative_int, default=0)
    s.add_argument("--scale", type=_positive_int, default=4, help="nearest-neighbour upscaling factor")
    s.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    s.add_argument("--label", default=None,
                   help="cvae only: decode every sample as this class (number or name); without it, one row per class")


def _add_list(sub) -> None:
    """`list`: the runs of a folder."""
    ls = sub.add_parser("list", help="list the runs in a folder")
    ls.add_argument("dir", nargs="?", default=DEFAULT_RUNS_ROOT)
    ls.add_argument("--json", action="store_true")


def _add_import(sub) -> None:
    """`import`: a run from a .zip or a folder, checked like an app upload."""
    im = sub.add_parser("import", help="add a run from a .zip or a folder (config.json + model.safetensors) to a runs folder")
    im.add_argument("path", help="a .zip of a run, or a folder holding its files; pickle files (.pt, .pth) are refused")
    im.add_argument("--runs-dir", default=DEFAULT_RUNS_ROOT, help=f"runs folder (default: {DEFAULT_RUNS_ROOT})")
    im.add_argument("--name", default=None, help="run name (default: the name in config.json, made unique)")


def _add_sweep(sub) -> None:
    """`sweep`: a VAE per β on shapes, with a table of their scores."""
    from vae_core.models.config import ARCHS
    from vae_core.training.config import LR_SCHEDULES

    sw = sub.add_parser("sweep", help="train a VAE per β on shapes; table of −ELBO, KL, MIG and FactorVAE score",
                        description="Trains one VAE per β in turn (each an ordinary run folder <name>-beta<β> in --out) "
                                    "and writes <name>-sweep.csv, .md and .json beside them.")
    sw.add_argument("--dataset", default="shapes", help="shapes[:SIZE[:COUNT]], the data with ground-truth factors")
    sw.add_argument("--beta", type=_beta_list, default=(1.0, 2.0, 4.0, 8.0), help="β values (default 1,2,4,8)")
    sw.add_argument("--arch", choices=ARCHS, default="mlp")
    sw.add_argument("--latent-dim", type=_positive_int, default=8)
    sw.add_argument("--hidden-sizes", type=_int_list, default=(256,), help="dense layer sizes, e.g. 256,128")
    sw.add_argument("--conv-channels", type=_int_list, default=(32, 64), help="conv channels per stride-2 layer")
    sw.add_argument("--epochs", type=_positive_int, default=30)
    sw.add_argument("--batch-size", type=_positive_int, default=64)
    sw.add_argument("--lr", type=_finite_float, default=1e-3)
    sw.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant")
    sw.add_argument("--seed", type=_non_negative_int, default=0, help="seed of every run and of the scores")
    sw.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    sw.add_argument("--mig-samples", type=_int_at_least(2), default=10_000, help="shapes drawn for MIG (default 10000)")
    sw.add_argument("--factor-vae-votes", type=_vote_counts, default=(10_000, 5_000), metavar="TRAIN,EVAL",
                    help="FactorVAE training and evaluation votes (default 10000,5000)")
    sw.add_argument("--factor-vae-batch", type=_int_at_least(2), default=64, help="images per FactorVAE vote (default 64)")
    sw.add_argument("--out", default=DEFAULT_RUNS_ROOT, help=f"folder for the runs and the table (default: {DEFAULT_RUNS_ROOT})")
    sw.add_argument("--name", default=None, help="sweep name (default: vae-ARCH-Dd-DATASET); runs are NAME-betaβ")
    sw.add_argument("--no-optimizer-state", action="store_true", help="do not save optimizer.safetensors in the runs")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args, parser) -> int:
    from vae_core.training import distributed

    # Started by torchrun (RANK, WORLD_SIZE, LOCAL_RANK set), this process is one rank of a DDP run.
    with distributed.process_group(args.device) as group:
        code = _train_in_this_process(args, parser)
    if group is not None:
        _end_rank(code)
    return code


def _end_rank(code: int) -> None:
    """End a DDP rank now that its process group is destroyed and the run is saved and reported.

    With gloo a rank can abort in torch's C++ teardown after Python has finished (SIGABRT), and torchrun
    then reports the whole run failed; os._exit skips that teardown. Nothing is left to write, and the
    run-name claim was released when the run was saved."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _train_in_this_process(args, parser) -> int:
    import threading

    from vae_core.training import distributed
    from vae_core.training.run import resume_run

    progress = _ProgressBar(quiet=args.quiet or not distributed.is_main_process())
    stop = threading.Event()
    _stop_on_first_ctrl_c(stop)
    try:
        if args.resume:
            run_dir = Path(args.resume)
            result = resume_run(run_dir, epochs=args.epochs, time_limit=args.time_limit, data_dir=args.data_dir,
                                callback=progress, stop_event=stop)
        else:
            run_dir, result = _train_new_run(args, progress, stop)
    except KeyboardInterrupt:
        progress.close()
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        progress.close()
    return _report(run_dir, result)


def _train_new_run(args, progress, stop):
    """(run folder, TrainResult) of a new run made from the command's settings."""
    import contextlib

    from vae_core.data import load_dataset
    from vae_core.models import ModelConfig, default_num_classes
    from vae_core.runs.names import claim_run_name, claim_unique_run_name, run_dir_for, sanitize_run_name
    from vae_core.training import distributed
    from vae_core.training.config import TrainConfig
    from vae_core.training.run import train_run

    train_config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, beta=args.beta,
        warmup_epochs=args.warmup_epochs, free_bits=args.free_bits, seed=args.seed,
        device=args.device, time_limit=args.time_limit, lr_schedule=args.lr_schedule,
        augment_shift=args.augment_shift, amp=args.amp,
    )
    if args.name is not None:
        sanitize_run_name(args.name)  # refused before the data loads and before any folder is made
    dataset = load_dataset(args.dataset, data_dir=args.data_dir, seed=args.seed)
    num_classes = args.num_classes
    if num_classes is None:
        num_classes = default_num_classes(args.model, dataset.has_labels, dataset.class_names)
    model_config = ModelConfig(
        kind=args.model, arch=args.arch, latent_dim=args.latent_dim, hidden_sizes=args.hidden_sizes,
        conv_channels=args.conv_channels, likelihood=args.likelihood, c=args.c,
        image_shape=dataset.image_shape, num_classes=num_classes,
    )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    name = args.name or f"{args.model}-{args.arch}-d{args.latent_dim}-{_spec_slug(args.dataset)}"
    # Claimed before training (only rank 0 saves): a process racing for the same default name
    # gets `name-2`, and an explicit --name that is taken is refused.
    claim = None
    if distributed.is_main_process():
        claim = claim_run_name(args.out, name) if args.name else claim_unique_run_name(args.out, name)
    run_dir = claim.run_dir if claim else run_dir_for(args.out, name)
    with claim or contextlib.nullcontext():
        result = train_run(model_config, train_config, args.dataset, run_dir, dataset=dataset, callback=progress,
                           stop_event=stop, save_optimizer=not args.no_optimizer_state, claim=claim)
    return run_dir, result


def _report(run_dir: Path, result) -> int:
    """Print what the run ended with (rank 0 only; every rank's weights digest under torchrun); the exit code."""
    from vae_core.training import distributed

    replicas = distributed.gather_weights_sha256(result.model) if distributed.active_group() else None
    if not distributed.is_main_process():
        return 0
    status = result.status
    last = result.history[-1] if result.history else None
    summary = f"saved {run_dir}"
    if last and last.get("test"):
        test = last["test"]
        summary += f"  test −ELBO {test['neg_elbo']:.2f} nats/image (recon {test['recon']:.2f} + KL {test['kl']:.2f})"
    print(summary)
    if replicas is not None:
        print(f"weights sha256 of ranks 0 to {len(replicas) - 1}: {' '.join(replicas)}")
        if len(set(replicas)) > 1:
            print("error: the ranks ended with different weights; the saved run is rank 0's", file=sys.stderr)
            return 1
    if status["state"] == "diverged":
        print(f"error: {status['message']}", file=sys.stderr)
        return 1
    if status["state"] != "finished":
        print(status["message"])
    return 0


def _stop_on_first_ctrl_c(stop) -> None:
    """First Ctrl-C stops after the current step and saves the run; a second one aborts."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after this step and saving; press Ctrl-C again to abort without saving", file=sys.stderr)

    signal.signal(signal.SIGINT, handler)


def _spec_slug(spec: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in spec.split(":")[0])
    return slug[:24] or "data"


class _ProgressBar:
    """tqdm over optimiser steps, fed by the trainer's metrics records."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None

    def __call__(self, record: dict) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=record["total_epochs"], unit="epoch", dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n:.2f}/{total} epochs [{elapsed}<{remaining}{postfix}]")
        if record["kind"] == "step":
            self.bar.n = round(record["epoch_progress"], 2)
            t = record["train"]
            self.bar.set_postfix_str(
                f"train −ELBO {t['neg_elbo']:.1f} KL {t['kl']:.1f} nats/img, {record['samples_per_s']:.0f} img/s", refresh=False)
            self.bar.refresh() if self.bar.n == int(self.bar.n) else self.bar.update(0)
        elif record.get("test"):
            self.bar.write(
                f"epoch {record['epoch']:g}: test −ELBO {record['test']['neg_elbo']:.2f} = recon {record['test']['recon']:.2f}"
                f" + KL {record['test']['kl']:.2f} nats/image, active units {record['active_units']}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_evaluate(args, parser) -> int:
    from vae_core.data import load_dataset
    from vae_core.evaluation import evaluate
    from vae_core.models import check_labels_fit
    from vae_core.runs.checkpoint import load_run
    from vae_core.training.device import resolve_device
    from vae_core.training.run import check_dataset_fits

    device = resolve_device(args.device)
    run = load_run(args.run_dir, device=str(device))
    spec = args.dataset or run.dataset_info["spec"]
    dataset = load_dataset(spec, data_dir=args.data_dir, seed=int(run.dataset_info.get("seed", 0)))
    check_dataset_fits(run.model_config, dataset)
    check_labels_fit(run.model_config, dataset.has_labels, dataset.class_names)
    x, y = dataset.split(args.split)
    if args.iw_samples and not run.model.is_variational:
        parser.error("--iw-samples: this run is an AE, which has no q(z|x) or prior, so no IWAE bound; use --iw-samples 0")
    result = evaluate(run.model, x, batch_size=args.batch_size, iw_samples=args.iw_samples, seed=args.seed, y=y)
    out = {"run": str(args.run_dir), "dataset": spec, "split": args.split, "units": "nats per image", **result}
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{args.run_dir} on {spec} ({args.split}, n = {result['n']}), nats per image:")
    print(f"  −ELBO (lower is better)     {result['neg_elbo']:10.3f}")
    print(f"  reconstruction −log p(x|z)  {result['recon']:10.3f}")
    print(f"  KL(q(z|x) || p(z))          {result['kl']:10.3f}")
    if "nll_iw" in result:
        print(f"  −log p(x), IWAE k={args.iw_samples:<6d}   {result['nll_iw']:10.3f}  (≤ −ELBO)")
    print(f"  active units                {result['active_units']:10d} of {run.model_config.latent_dim}")
    return 0


def cmd_sample(args, parser) -> int:
    from vae_core.analysis import class_style_grid, prior_samples
    from vae_core.runs.checkpoint import load_run
    from vae_core.serving.image_grid import save_png, tile_images
    from vae_core.training.device import resolve_device

    run = load_run(args.run_dir, device=resolve_device(args.device))
    if not run.model.is_conditional:
        if args.label is not None:
            parser.error(f"--label: this run is a {run.model_config.kind}, which ignores labels; only a cvae takes one")
        images = prior_samples(run.model, args.n, seed=args.seed)
        path = save_png(tile_images(images), args.out, scale=args.scale)
        print(f"wrote {args.n} prior samples to {path}")
        return 0
    names = run.dataset_info["class_names"]
    if args.label is not None:
        label = _class_index(args.label, names, run.model_config.num_classes)
        images = prior_samples(run.model, args.n, seed=args.seed, label=label)
        path = save_png(tile_images(images), args.out, scale=args.scale)
        print(f"wrote {args.n} prior samples of class {_class_name(label, names)} to {path}")
        return 0
    # One row per class, one z ~ N(0, I) per column: down a column the style stays and only the class changes.
    n_styles = max(1, args.n // run.model_config.num_classes)
    grid = class_style_grid(run.model, n_styles, seed=args.seed)
    path = save_png(tile_images(grid.flatten(0, 1), n_cols=n_styles), args.out, scale=args.scale)
    print(f"wrote {grid.shape[0]} classes (rows) × {n_styles} styles z ~ N(0, I) (columns) to {path}")
    return 0


def _class_name(label: int, names: list[str]) -> str:
    return names[label] if label < len(names) else str(label)


def _class_index(text: str, names: list[str], num_classes: int) -> int:
    """A class given by name or by number -> its index, 0 to num_classes − 1."""
    if text in names and names.index(text) < num_classes:
        return names.index(text)
    try:
        index = int(text)
    except ValueError:
        index = -1
    if not 0 <= index < num_classes:
        raise ValueError(f"--label: expected a class number from 0 to {num_classes - 1} or a name from {names}, got {text!r}")
    return index


def cmd_list(args, parser) -> int:
    from vae_core.runs.registry import list_runs

    runs = list_runs(args.dir)
    if args.json:
        print(json.dumps([{k: v for k, v in vars(r).items() if k != "path"} | {"path": str(r.path)} for r in runs]))
        return 0
    if not runs:
        print(f"no runs in {args.dir}")
        return 0
    print(f"{'name':32} {'dataset':14} {'kind':4} {'d':>4} {'test −ELBO':>10}  created")
    for r in runs:
        if r.error:
            print(f"{r.name:32} unreadable: {r.error}")
            continue
        elbo = f"{r.test_neg_elbo:10.2f}" if r.test_neg_elbo is not None else f"{'—':>10}"
        print(f"{r.name:32} {str(r.dataset):14} {str(r.kind):4} {r.latent_dim:>4} {elbo}  {r.created}")
    return 0


def cmd_import(args, parser) -> int:
    from vae_core.runs.upload import import_uploaded_run, read_run_source

    # The same checks as an upload in the app; on any problem the runs folder is left untouched.
    files = read_run_source(args.path)
    try:
        run_dir = import_uploaded_run(files, args.runs_dir, name=args.name)
    except OSError as err:  # a full disk or an unwritable runs folder: not the file's fault
        print(f"error: could not save the run in {args.runs_dir} ({err.strerror})", file=sys.stderr)
        return 1
    print(run_dir)
    return 0


def cmd_sweep(args, parser) -> int:
    import threading

    from vae_core.models import ModelConfig
    from vae_core.sweep import ScoreSettings, markdown_table, run_sweep, table_path
    from vae_core.training.config import TrainConfig

    name = args.name or f"vae-{args.arch}-{args.latent_dim}d-{_spec_slug(args.dataset)}"
    train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                               device=args.device, lr_schedule=args.lr_schedule)
    # train_run takes the image shape from the dataset; the rest of the model is the same for every β.
    model_config = ModelConfig(kind="vae", arch=args.arch, latent_dim=args.latent_dim, hidden_sizes=args.hidden_sizes,
                               conv_channels=args.conv_channels, image_shape=(1, 32, 32))
    scores = ScoreSettings(seed=args.seed, mig_samples=args.mig_samples, factor_vae_train=args.factor_vae_votes[0],
                           factor_vae_eval=args.factor_vae_votes[1], factor_vae_batch=args.factor_vae_batch)
    progress = _ProgressBar(quiet=args.quiet)
    stop = threading.Event()
    _stop_on_first_ctrl_c(stop)

    def announce(index: int, beta: float, run_dir: Path) -> None:
        progress.close()
        print(f"[{index + 1}/{len(args.beta)}] β = {beta:g} → {run_dir}", flush=True)

    try:
        table = run_sweep(model_config, train_config, args.dataset, args.beta, args.out, name, scores=scores,
                          save_optimizer=not args.no_optimizer_state, callback=progress, stop_event=stop,
                          on_run_start=announce)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        progress.close()
    print(f"\nβ sweep on {table.dataset}; −ELBO, recon and KL in nats per test image (lower −ELBO is better), "
          "MIG and FactorVAE score in [0, 1] (higher is more disentangled):\n")
    print(markdown_table(table))
    print(f"\nwrote {', '.join(str(table_path(args.out, name, ext)) for ext in ('csv', 'md', 'json'))}")
    if len(table.rows) < len(args.beta):
        print(f"stopped after {len(table.rows)} of {len(args.beta)} runs", file=sys.stderr)
        return 130
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "sample": cmd_sample, "list": cmd_list, "import": cmd_import,
            "sweep": cmd_sweep}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args, parser)
    except ValueError as err:
        # Validation at the edges raises ValueError with a message meant for the user.
        parser.error(str(err))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
