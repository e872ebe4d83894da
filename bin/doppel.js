#!/usr/bin/env node
// Entry point of the `doppel` command: runs the compiled CLI (built by `npm install` through `prepare`).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src-main', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(
    'doppel: the CLI is not built yet. Run `npm run build` in ' + path.dirname(__dirname) + '\n',
  );
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write('doppel: ' + (err && err.message ? err.message : String(err)) + '\n');
      process.exitCode = 1;
    },
  );
