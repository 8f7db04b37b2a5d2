#!/usr/bin/env bash
# Rebuilds every default model in assets/models with the project's own CLI.
# Each run is reproducible from its seed (same torch version and CPU); see assets/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/models
train() { python3 -m vae_core train --out "$out" --no-optimizer-state --quiet "$@"; }

# 2-D MLP VAE and AE with the same architecture: the Explore, Latent map and Learn pages.
train --name vae-mlp-2d-mnist5k --dataset mnist5k --model vae --arch mlp --latent-dim 2 --hidden-sizes 256,128 \
  --epochs 100 --batch-size 128 --lr 2e-3 --lr-schedule cosine --seed 0
train --name ae-mlp-2d-mnist5k --dataset mnist5k --model ae --arch mlp --latent-dim 2 --hidden-sizes 256,128 \
  --epochs 100 --batch-size 128 --lr 2e-3 --lr-schedule cosine --seed 0

# 2-D MLP conditional VAE, q(z|x, y) and p(x|z, y): the Explore page's class picker (class vs style).
train --name cvae-mlp-2d-mnist5k --dataset mnist5k --model cvae --arch mlp --latent-dim 2 --hidden-sizes 256,128 \
  --epochs 100 --batch-size 128 --lr 2e-3 --lr-schedule cosine --seed 0

# 20-D MLP VAE: the default quality recipe (see BENCHMARKS.md), the peer's 784-400-20 shape.
train --name vae-mlp-20d-mnist5k --dataset mnist5k --model vae --arch mlp --latent-dim 20 --hidden-sizes 400 \
  --epochs 120 --batch-size 128 --lr 3e-3 --lr-schedule cosine --augment-shift 1 --seed 0

# Conv VAE on procedural shapes (ground-truth factors: shape, scale, rotation, x, y).
train --name vae-conv-10d-shapes --dataset shapes --model vae --arch conv --latent-dim 10 --conv-channels 32,64,64 \
  --hidden-sizes 256 --epochs 30 --batch-size 128 --lr 1e-3 --seed 0

# β sweep on shapes (6-D MLP VAEs at β = 1, 4, 16, 32) with its table of −ELBO, KL, MIG and FactorVAE score
# (vae-mlp-6d-shapes-sweep.csv/.md/.json): the Learn page's lesson on disentanglement. One torch thread, as measured.
OMP_NUM_THREADS=1 python3 -m vae_core sweep --dataset shapes:32:20000 --beta 1,4,16,32 --arch mlp --latent-dim 6 \
  --hidden-sizes 256 --epochs 15 --batch-size 128 --lr 2e-3 --lr-schedule cosine --seed 0 --device cpu \
  --out "$out" --no-optimizer-state --quiet

# 2-D Gaussian-decoder VAEs at three decoder variances c: the Learn page's lesson on c.
for c in 0.01 0.1 1; do
  train --name "vae-mlp-2d-mnist5k-gauss-c$c" --dataset mnist5k --model vae --arch mlp --latent-dim 2 \
    --hidden-sizes 256,128 --likelihood gaussian --c "$c" --epochs 60 --batch-size 128 --lr 2e-3 --lr-schedule cosine --seed 0
done
