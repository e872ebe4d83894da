// Unwraps the UMD files of the nsfwjs@4.3.0 tarball (extracted in models/train/data/package) into
// plain TF.js files: data/tfjs/<model>/model.json and weights.bin (the shards, base64-decoded,
// concatenated in manifest order). Usage: node models/train/dump_nsfwjs.js
const fs = require('fs');
const path = require('path');

const DATA = path.join(__dirname, 'data');
const MODELS = [['mobilenet_v2', ['group1-shard1of1']]];

for (const [name, shards] of MODELS) {
  const dir = path.join(DATA, 'package/dist/models', name);
  if (!fs.existsSync(dir)) {
    console.error(`missing ${dir}: run "npm pack nsfwjs@4.3.0" and untar it in ${DATA}`);
    process.exit(1);
  }
  const model = require(path.join(dir, 'model.min.js'));
  const buffers = shards.map((s) => Buffer.from(require(path.join(dir, `${s}.min.js`)), 'base64'));
  const out = path.join(DATA, 'tfjs', name);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify(model));
  fs.writeFileSync(path.join(out, 'weights.bin'), Buffer.concat(buffers));
  console.log(`${name}: ${buffers.reduce((n, b) => n + b.length, 0)} bytes of weights`);
}
