// Runs models/parity.json through onnxruntime-node and prints the largest difference from the
// PyTorch features it stores. Usage: node models/train/check_parity_ort.js
const fs = require('fs');
const path = require('path');
const ort = require(path.resolve(__dirname, '../../node_modules/onnxruntime-node'));

async function main() {
  const models = path.resolve(__dirname, '..');
  const fx = JSON.parse(fs.readFileSync(path.join(models, 'parity.json'), 'utf8'));
  const [n, c, h, w] = fx.shape;
  const x = new Float32Array(n * c * h * w);
  let k = 0;
  for (let b = 0; b < n; b += 1)
    for (let ch = 0; ch < c; ch += 1)
      for (let i = 0; i < h; i += 1)
        for (let j = 0; j < w; j += 1)
          x[k++] = 0.5 + 0.5 * Math.sin(0.01 * (i + 1) * (ch + 1) + 0.02 * j + 0.7 * b);
  const session = await ort.InferenceSession.create(path.join(models, fx.onnx), {
    intraOpNumThreads: 2,
  });
  const out = await session.run({ [fx.input]: new ort.Tensor('float32', x, fx.shape) });
  const got = out[fx.output].data;
  let maxDiff = 0;
  fx.features.flat().forEach((v, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - got[i]));
  });
  console.log(JSON.stringify({ maxDiff, tolerance: fx.tolerance, ok: maxDiff <= fx.tolerance }));
  if (maxDiff > fx.tolerance) process.exit(1);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
