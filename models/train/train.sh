#!/usr/bin/env bash
# The one documented training command (run from anywhere; CPU, 2 threads):
#   nice -n 10 bash models/train/train.sh
# Stage 1 fine-tunes the late MobileNetV2 blocks, the shallow branches and the head on augmented
# triplets (about 60 minutes on 2 cores), keeping the epoch with the best validation recall in
# runs/main/best.pt; stage 2 trains the head and branch weights on cached features from that
# checkpoint; export writes models/. Rerunning continues stage 1 from runs/main/last.pt up to
# STAGE1_STEPS.
set -euo pipefail
cd "$(dirname "$0")"
STAGE1_STEPS="${STAGE1_STEPS:-1290}"
STAGE2_PHOTOS="${STAGE2_PHOTOS:-3000}"
VIEWS="${VIEWS:-identity,mirror,rot90,rot180,rot270}"
VERSION="${VERSION:-v3}"

if [ ! -f data/tfjs/mobilenet_v2/weights.bin ]; then
  mkdir -p data
  (cd data && npm pack nsfwjs@4.3.0 && tar xzf nsfwjs-4.3.0.tgz)
  node dump_nsfwjs.js
fi
python=/usr/bin/python3
$python -m doppel_train.train --out runs/main --gap 0.15 --epochs 12 \
  --max-steps "$STAGE1_STEPS" --resume
$python -m doppel_train.head_fit --ckpt runs/main/best.pt --out runs/main \
  --max-photos "$STAGE2_PHOTOS" --steps 600 --batch 128 --gaps 0.1,0.3
$python -m doppel_train.export --ckpt runs/main/stage2.pt --version "$VERSION" --views "$VIEWS" \
  --eval-photos 40 --max-distractors 120
node bench_ort.js "../doppel-net-$VERSION.onnx" 160 16 2 8
node check_parity_ort.js
