// Measures onnxruntime-node throughput of an ONNX file: images/s at a batch size on N intra-op threads.
// Usage: node models/train/bench_ort.js <model.onnx> <size> [batch=16] [threads=2] [seconds=8]
const path = require('path');
const ort = require(path.resolve(__dirname, '../../node_modules/onnxruntime-node'));

async function main() {
  const [file, sizeArg, batchArg = '16', threadsArg = '2', secondsArg = '8'] =
    process.argv.slice(2);
  const size = Number(sizeArg);
  const batch = Number(batchArg);
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: Number(threadsArg),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const data = new Float32Array(batch * 3 * size * size);
  for (let i = 0; i < data.length; i += 1) data[i] = Math.sin(i * 0.001) * 0.5 + 0.5;
  const feeds = { input: new ort.Tensor('float32', data, [batch, 3, size, size]) };
  for (let i = 0; i < 3; i += 1) await session.run(feeds);
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (Number(process.hrtime.bigint() - t0) / 1e9 < Number(secondsArg)) {
    await session.run(feeds);
    n += batch;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    JSON.stringify({ file: path.basename(file), size, batch, imagesPerSecond: n / secs }),
  );
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
