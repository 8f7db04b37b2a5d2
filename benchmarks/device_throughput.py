"""Device throughput: training images/s of the conv VAE on CIFAR-10-sized images, CPU vs GPU vs GPU + amp.

The model is the conv VAE (3×32×32, conv channels 32,64, a 256 dense layer, d = 32, Bernoulli
likelihood); the data are uniform random pixels (the cost of a step does not depend on them).
Each configuration trains through vae_core.training.loop.train, batch 128: one untimed warm-up epoch,
then `--epochs` timed epochs, best of `--repeats`. The GPU rows appear only where CUDA is available;
the verdict is PASS when every available configuration trains to a finite loss (and, on a GPU,
the GPU beats the CPU).

    python benchmarks/device_throughput.py [--images 4096] [--epochs 2] [--repeats 2] [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import time
from pathlib import Path

import torch

# Run as a script from anywhere: the repo root holds vae_core.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.machine import machine_info, print_header  # noqa: E402
from vae_core.data import ImageDataset  # noqa: E402
from vae_core.models import ModelConfig  # noqa: E402
from vae_core.training.config import TrainConfig  # noqa: E402
from vae_core.training.loop import train  # noqa: E402
from vae_core.training.run import build_seeded_model  # noqa: E402

MODEL = ModelConfig(arch="conv", image_shape=(3, 32, 32), latent_dim=32, hidden_sizes=(256,), conv_channels=(32, 64))
BATCH_SIZE = 128
TEST_IMAGES = 128  # the trainer evaluates the test split every epoch; kept small so the figure is training
QUICK_IMAGES = 256


def random_images(n_train: int) -> ImageDataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((n_train + TEST_IMAGES, 3, 32, 32), generator=generator)
    y = torch.zeros(n_train + TEST_IMAGES, dtype=torch.long)
    return ImageDataset("random:3x32x32", x[:n_train], y[:n_train], x[n_train:], y[n_train:], ["unlabelled"], has_labels=False)


def configurations() -> list[tuple[str, str, str]]:
    """(label, device, amp) for every configuration this machine can run."""
    rows = [("CPU", "cpu", "off")]
    if torch.cuda.is_available():
        rows.append(("GPU", "cuda", "off"))
        rows.append(("GPU + amp fp16", "cuda", "fp16"))
        if torch.cuda.is_bf16_supported():
            rows.append(("GPU + amp bf16", "cuda", "bf16"))
    return rows


def time_training(dataset: ImageDataset, device: str, amp: str, epochs: int) -> tuple[float, float]:
    """(images/s over `epochs` timed epochs after a warm-up epoch, last epoch's train −ELBO in nats per image)."""
    model = build_seeded_model(MODEL, 0)
    warm = train(model, dataset, TrainConfig(epochs=1, batch_size=BATCH_SIZE, device=device, amp=amp))
    config = TrainConfig(epochs=1 + epochs, batch_size=BATCH_SIZE, device=device, amp=amp)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = train(model, dataset, config, optimizer_state=warm.optimizer_state, previous_metrics=warm.metrics)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return epochs * dataset.train_x.shape[0] / seconds, result.history[-1]["train"]["neg_elbo"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4096, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement, after one warm-up epoch")
    parser.add_argument("--repeats", type=int, default=2, help="measurements per configuration; the best is kept")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_IMAGES} images, 1 epoch, 1 repeat")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.epochs, args.repeats = QUICK_IMAGES, 1, 1

    info = machine_info()
    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print_header("Device throughput: conv VAE training on 3×32×32 images, CPU vs GPU vs GPU + amp", info)
    print(f"gpu:     {info['gpu'] or 'not available (no CUDA device here): GPU rows skipped'}")
    print(f"model:   conv VAE, channels {','.join(map(str, MODEL.conv_channels))}, dense {MODEL.hidden_sizes[0]}, "
          f"d = {MODEL.latent_dim}, Bernoulli; batch {BATCH_SIZE}, Adam 1e-3")
    print(f"data:    {args.images} random 3×32×32 training images (+{TEST_IMAGES} test, evaluated every epoch)")
    print(f"timing:  {args.epochs} epoch(s) per measurement after 1 warm-up epoch, best of {args.repeats}\n")

    dataset = random_images(args.images)
    rows = []
    print(f"{'configuration':16}  {'images/s':>9}  {'vs CPU':>6}  {'train −ELBO':>11}")
    for label, device, amp in configurations():
        measured = [time_training(dataset, device, amp, args.epochs) for _ in range(args.repeats)]
        images_per_s, loss = max(measured)
        rows.append({"configuration": label, "device": device, "amp": amp, "images_per_s": images_per_s, "neg_elbo": loss})
        ratio = images_per_s / rows[0]["images_per_s"]
        print(f"{label:16}  {images_per_s:>9.0f}  {ratio:>5.1f}×  {loss:>11.1f}")

    cpu = rows[0]["images_per_s"]
    finite = all(math.isfinite(r["neg_elbo"]) for r in rows)
    gpu = [r for r in rows if r["device"] == "cuda"]
    passed = finite and all(r["images_per_s"] > cpu for r in gpu)
    where = ", ".join(f"{r['configuration']} {r['images_per_s']:.0f} img/s" for r in rows)
    if not gpu:
        where += "; GPU not available"
    print(f"\nresult: {where}: {'PASS' if passed else 'FAIL'}")

    if args.json:
        report = {"benchmark": "device_throughput", "command": sys.argv,
                  "date": datetime.datetime.now().astimezone().isoformat(), "machine": info,
                  "train_images": args.images, "epochs": args.epochs, "batch_size": BATCH_SIZE, "rows": rows,
                  "cpu_images_per_s": cpu, "gpu_available": bool(gpu), "passed": passed}
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
