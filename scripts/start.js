#!/usr/bin/env node
// `npm start`: opens the desktop app where Electron is installed; otherwise says what is missing
// and how to get it, in one line, instead of a stack trace.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');

const root = path.join(__dirname, '..');
const shell = path.join(root, 'dist', 'src-main', 'app', 'main.js');

function fail(message) {
  process.stderr.write(`doppel: ${message}\n`);
  process.exit(1);
}

let electronBinary;
try {
  electronBinary = require('electron');
} catch {
  fail(
    'Electron is not installed (its download was skipped or failed). With internet access run ' +
      '`npm install electron@41.7.1 --no-save --foreground-scripts`, or use the browser mode: `npx doppel serve`.',
  );
}
if (typeof electronBinary !== 'string' || !fs.existsSync(electronBinary)) {
  fail(
    'The Electron binary is missing. Run `node node_modules/electron/install.js` with internet access, or use `npx doppel serve`.',
  );
}
if (!fs.existsSync(shell)) {
  fail('The desktop shell is not built. Run `npm run build:app` first.');
}
const child = spawn(electronBinary, [shell], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
