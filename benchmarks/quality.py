"""Quality within a time budget: train the default 20-D recipe on mnist5k, evaluate on the MNIST test set.

Target (issue 2): test −ELBO ≤ 110 nats per image within 60 s of training wall time on the 2-core
machine. Both steps go through the CLI, exactly as a user would run them:

    python3 benchmarks/quality.py [--time-limit 55] [--keep DIR]

The MNIST test set is read from ../shared/data/mnist (IDX, gzip) with the `idx:` spec.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere
from benchmarks.machine import machine_info, print_header  # noqa: E402

MNIST_TEST = REPO.parent / "shared" / "data" / "mnist"
TARGET_NATS = 110.0
BUDGET_S = 60.0

# The default recipe: the same flags as vae-mlp-20d-mnist5k in assets/make_default_models.sh.
RECIPE = ["--dataset", "mnist5k", "--model", "vae", "--arch", "mlp", "--latent-dim", "20", "--hidden-sizes", "400",
          "--epochs", "120", "--batch-size", "128", "--lr", "3e-3", "--lr-schedule", "cosine", "--augment-shift", "1",
          "--seed", "0"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=55.0, help="training time limit passed to the CLI, s")
    parser.add_argument("--iw-samples", type=int, default=0, help="also report the IWAE estimate with k samples")
    parser.add_argument("--keep", default=None, help="runs folder to keep the trained run in")
    args = parser.parse_args()

    images = MNIST_TEST / "t10k-images-idx3-ubyte.gz"
    labels = MNIST_TEST / "t10k-labels-idx1-ubyte.gz"
    if not images.exists():
        print(f"missing {images}: this benchmark needs the shared MNIST test set", file=sys.stderr)
        return 2
    print_header("Quality in a time budget: the default 20-D recipe on mnist5k, scored on the MNIST test set",
                 machine_info())

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep or tmp)
        train = [sys.executable, "-m", "vae_core", "train", *RECIPE, "--time-limit", str(args.time_limit),
                 "--out", str(out), "--name", "quality-20d", "--quiet"]
        print("train:", " ".join(train[1:]))
        start = time.perf_counter()
        subprocess.run(train, cwd=REPO, check=True)
        train_wall = time.perf_counter() - start
        metrics = json.loads((out / "quality-20d" / "metrics.json").read_text())
        trained_s = metrics["history"][-1]["elapsed_s"]
        evaluate = [sys.executable, "-m", "vae_core", "evaluate", str(out / "quality-20d"),
                    "--dataset", f"idx:{images},{labels}", "--split", "all", "--iw-samples", str(args.iw_samples), "--json"]
        print("evaluate:", " ".join(evaluate[1:]))
        result = json.loads(subprocess.run(evaluate, cwd=REPO, check=True, capture_output=True, text=True).stdout)

    print()
    print(f"epochs trained          {metrics['status']['epochs_done']} ({metrics['status']['state']})")
    print(f"training time           {trained_s:.1f} s inside the trainer, {train_wall:.1f} s for the whole CLI command")
    print(f"MNIST test −ELBO        {result['neg_elbo']:.2f} nats per image (n = {result['n']})")
    print(f"  recon −log p(x|z)     {result['recon']:.2f}")
    print(f"  KL(q(z|x) || p(z))    {result['kl']:.2f}")
    if "nll_iw" in result:
        print(f"  −log p(x), IWAE k={args.iw_samples} {result['nll_iw']:.2f}")
    print("peer (pytorch/examples vae, 60k images): 133.1 after 10 epochs, 111.9 after 60 epochs in 161 s")
    ok = result["neg_elbo"] <= TARGET_NATS and train_wall <= BUDGET_S
    print(f"{'PASS' if ok else 'FAIL'}: target −ELBO ≤ {TARGET_NATS:g} nats with training ≤ {BUDGET_S:g} s wall")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
