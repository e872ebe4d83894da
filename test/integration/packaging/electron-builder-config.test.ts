/**
 * The installer configuration is valid for electron-builder without building anything: loaded and
 * checked against electron-builder's own schema, with the native modules unpacked from asar.
 */
import fs from 'node:fs';
import path from 'node:path';
// electron-builder's config loader and validator live in its app-builder-lib and builder-util
// packages; using them checks the file exactly as `electron-builder` would read it.
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config';
import { DebugLogger } from 'builder-util';
import type { Configuration } from 'electron-builder';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/shared-data';

async function loadConfig(): Promise<Configuration> {
  return getConfig(REPO_ROOT, null, null);
}

function targetsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((t) => (typeof t === 'string' ? t : (t as { target: string }).target));
}

describe('electron-builder.yml', () => {
  it('passes electron-builder validation', async () => {
    await expect(
      validateConfiguration(await loadConfig(), new DebugLogger(false)),
    ).resolves.toBeUndefined();
  });

  it('is refused by the same validation when broken (the check can fail)', async () => {
    const broken = {
      ...(await loadConfig()),
      linux: { target: 42, notAnOption: true },
    } as unknown as Configuration;
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(
      /configuration/i,
    );
  });

  it('unpacks onnxruntime-node, sharp and better-sqlite3 from asar', async () => {
    const unpack = (await loadConfig()).asarUnpack as string[];
    for (const name of ['onnxruntime-node', 'sharp', 'better-sqlite3']) {
      expect(
        unpack.some((p) => p.includes(`node_modules/${name}/`)),
        name,
      ).toBe(true);
    }
  });

  it('builds AppImage and deb, NSIS and dmg, and rebuilds native modules for Electron', async () => {
    const config = await loadConfig();
    expect(targetsOf(config.linux?.target)).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(targetsOf(config.win?.target)).toContain('nsis');
    expect(targetsOf(config.mac?.target)).toContain('dmg');
    expect(config.npmRebuild).not.toBe(false);
  });

  it('packs the compiled main, preload and renderer that package.json points at', async () => {
    const config = await loadConfig();
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      main: string;
    };
    expect(pkg.main).toBe('dist/src-main/app/main.js');
    // electron-builder normalises `files` into filter sets; flatten them to patterns.
    const patterns = ([] as unknown[])
      .concat(config.files ?? [])
      .flatMap((entry) =>
        typeof entry === 'string'
          ? [entry]
          : ([] as string[]).concat((entry as { filter?: string | string[] }).filter ?? []),
      );
    expect(patterns).toEqual(expect.arrayContaining(['dist/**/*', 'package.json']));
  });
});
