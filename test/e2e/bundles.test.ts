/**
 * Bundles end to end: a generated library with RAW+JPEG pairs, XMP/AAE sidecars in mixed case,
 * Live Photos, edited versions, a burst marked in metadata, an orphan sidecar and a lone video.
 * Scanning, grouping, planning, applying and undoing must treat each bundle as one unit.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildAppleMakerNote,
  buildQuickTimeMovie,
  buildRaf,
  buildTiff,
  withExifSegment,
} from '../helpers/decode-fixtures';
import { REPO_ROOT, sharedPath } from '../helpers/shared-data';

const BIN = path.join(REPO_ROOT, 'bin', 'doppel.js');
const TRAIN = sharedPath('datasets', 'train', 'imagenet-samples');

interface GroupPhoto {
  path: string;
  distance: number;
  companions?: string[];
  bundle?: string;
}
interface Group {
  kind: string;
  label?: string;
  pair?: string;
  photos: GroupPhoto[];
}

/** EXIF with a capture date and, optionally, an Apple burst identifier in the maker note. */
function exifBlock(takenAt: string, burstId?: string, contentId?: string): Buffer {
  const exifEntries: { tag: number; ascii?: string; bytes?: Buffer }[] = [
    { tag: 0x9003, ascii: takenAt },
  ];
  const apple: Record<number, string> = {};
  if (burstId) apple[0x000b] = burstId;
  if (contentId) apple[0x0011] = contentId;
  if (burstId || contentId) exifEntries.push({ tag: 0x927c, bytes: buildAppleMakerNote(apple) });
  return buildTiff({
    entries: [
      { tag: 0x010f, ascii: burstId || contentId ? 'Apple' : 'FUJIFILM' },
      { tag: 0x0110, ascii: burstId || contentId ? 'iPhone 15 Pro' : 'X-T5' },
      { tag: 0x0112, short: [1] },
      { tag: 0x8769, ifds: [{ entries: exifEntries as never }] },
    ],
  });
}

const describeIfData = TRAIN ? describe : describe.skip;
if (!TRAIN)
  console.warn('bundles: ../shared/datasets/train is absent; the bundle test is skipped.');

describeIfData('bundles travel together', () => {
  let tmp: string;
  let lib: string;
  let db: string;
  let env: Record<string, string>;
  const run = (args: string[]): { code: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [BIN, ...args, '--db', db], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 240_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const groupsOf = (extra: string[] = []): Group[] => {
    const out = run(['groups', '--json', ...extra]);
    expect(out.code, out.stderr).toBe(0);
    return JSON.parse(out.stdout).groups as Group[];
  };
  const at = (...parts: string[]): string => path.join(lib, ...parts);

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-bundles-'));
    lib = path.join(tmp, 'library');
    db = path.join(tmp, 'cache.sqlite');
    env = { XDG_DATA_HOME: path.join(tmp, 'xdg-data'), DOPPEL_HOME: path.join(tmp, 'app') };
    for (const d of ['', 'dup', 'burst', 'live']) fs.mkdirSync(at(d), { recursive: true });
    const sources = fs
      .readdirSync(TRAIN!)
      .sort()
      .map((d) => path.join(TRAIN!, d, fs.readdirSync(path.join(TRAIN!, d))[0]))
      .filter((_, i) => i % 101 === 3)
      .slice(0, 6);
    const jpeg = (src: string, width: number, quality = 90): Promise<Buffer> =>
      sharp(src).rotate().resize(width).jpeg({ quality }).toBuffer();

    // RAW+JPEG pair with sidecars in mixed case, and a lone same-size copy elsewhere.
    const a = withExifSegment(await jpeg(sources[0], 640), exifBlock('2024:03:01 10:00:00'));
    fs.writeFileSync(at('IMG_0001.JPG'), a);
    fs.writeFileSync(at('IMG_0001.RAF'), buildRaf(a, 6240, 4160));
    fs.writeFileSync(at('IMG_0001.RAF.xmp'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n');
    fs.writeFileSync(at('img_0001.XMP'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n');
    fs.writeFileSync(
      at('dup', 'IMG_0001-copy.jpg'),
      await sharp(a).jpeg({ quality: 97 }).toBuffer(),
    );

    // Live Photo with its Apple edit sidecar, and Apple's edited version beside it.
    fs.writeFileSync(at('IMG_0002.JPG'), await jpeg(sources[1], 640));
    const mov = Buffer.concat([
      Buffer.from([0, 0, 0, 20]),
      Buffer.from('ftypqt  \0\0\0\0qt  '),
      Buffer.alloc(4096, 7),
    ]);
    fs.writeFileSync(at('IMG_0002.MOV'), mov);
    fs.writeFileSync(at('IMG_0002.AAE'), '<?xml version="1.0"?><plist/>\n');
    const meta = await sharp(at('IMG_0002.JPG')).metadata();
    fs.writeFileSync(
      at('IMG_E0002.JPG'),
      await sharp(at('IMG_0002.JPG'))
        .extract({ left: 20, top: 10, width: meta.width! - 40, height: meta.height! - 20 })
        .modulate({ brightness: 1.15, saturation: 1.3 })
        .jpeg()
        .toBuffer(),
    );

    // A Google Photos export edit.
    fs.writeFileSync(at('beach.jpg'), await jpeg(sources[2], 640));
    fs.writeFileSync(
      at('beach-edited.jpg'),
      await sharp(at('beach.jpg')).linear(1.2, -10).jpeg().toBuffer(),
    );

    // A bundle (photo + XMP + Live video) that loses to a larger copy: it must travel whole.
    fs.writeFileSync(at('IMG_0003.JPG'), await jpeg(sources[3], 800));
    fs.writeFileSync(at('dup', 'IMG_0003.JPG'), await jpeg(sources[3], 400));
    fs.writeFileSync(at('dup', 'IMG_0003.JPG.xmp'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n');
    fs.writeFileSync(at('dup', 'IMG_0003.MOV'), mov);

    // Two frames marked as one burst, of different pictures.
    const burstId = '9B2D4F6A-1C3E-4A5B-8D7F-0123456789AB';
    fs.writeFileSync(
      at('burst', 'IMG_1001.JPG'),
      withExifSegment(await jpeg(sources[4], 480), exifBlock('2024:03:02 10:00:00', burstId)),
    );
    fs.writeFileSync(
      at('burst', 'IMG_1002.JPG'),
      withExifSegment(await jpeg(sources[5], 480), exifBlock('2024:03:02 10:00:01', burstId)),
    );

    // A Live Photo whose video was renamed apart: paired by the Apple content identifier in both
    // files' metadata. Another video with an identifier no photo carries stays a lone video.
    const liveId = '6F3B5C2E-9A41-4D7B-B2C8-1E0F5A6D9C34';
    fs.writeFileSync(
      at('live', 'IMG_3001.JPG'),
      withExifSegment(
        await jpeg(sources[0], 560),
        exifBlock('2024:03:03 09:00:00', undefined, liveId),
      ),
    );
    fs.writeFileSync(
      at('live', 'IMG_E3001.JPG'),
      await sharp(at('live', 'IMG_3001.JPG')).modulate({ brightness: 1.1 }).jpeg().toBuffer(),
    );
    const qtKey = 'com.apple.quicktime.content.identifier';
    fs.writeFileSync(
      at('live', 'Live Photo video 3001.MOV'),
      buildQuickTimeMovie({ 'com.apple.quicktime.make': 'Apple', [qtKey]: liveId }),
    );
    fs.writeFileSync(
      at('live', 'unrelated.mov'),
      buildQuickTimeMovie({ [qtKey]: '00000000-0000-4000-8000-000000000000' }),
    );

    // An orphan sidecar and a video that belongs to no photo.
    fs.writeFileSync(at('gone.CR2.xmp'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n');
    fs.writeFileSync(at('clip.mov'), mov);

    const scan = run(['scan', lib, '--json']);
    expect(scan.code, scan.stderr).toBe(0);
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows a RAW+JPEG pair as one photo carrying the RAW and every sidecar', () => {
    const groups = groupsOf();
    const photo = groups.flatMap((g) => g.photos).find((p) => p.path === at('IMG_0001.JPG'));
    expect(photo?.bundle).toBe('raw+jpeg');
    expect(photo?.companions).toEqual(
      [at('IMG_0001.RAF'), at('IMG_0001.RAF.xmp'), at('img_0001.XMP')].sort(),
    );
    expect(groups.flatMap((g) => g.photos).some((p) => p.path === at('IMG_0001.RAF'))).toBe(false);
    const pairs = groupsOf(['--pairs']).filter((g) => g.pair === 'raw+jpeg');
    expect(pairs.map((g) => g.photos.map((p) => p.path))).toContainEqual([
      at('IMG_0001.JPG'),
      at('IMG_0001.RAF'),
    ]);
  });

  it('keeps Live Photo videos and AAE files as companions and never decodes a video', () => {
    const photos = groupsOf().flatMap((g) => g.photos);
    const live = photos.find((p) => p.path === at('IMG_0002.JPG'));
    expect(live?.companions).toEqual([at('IMG_0002.AAE'), at('IMG_0002.MOV')]);
    expect(live?.bundle).toBe('live-photo');
    const problems = JSON.parse(run(['problems', '--json']).stdout).problems as {
      path: string;
      code: string;
    }[];
    expect(problems.filter((p) => /\.mov$/i.test(p.path))).toEqual([]);
    expect(problems).toContainEqual(
      expect.objectContaining({ path: at('gone.CR2.xmp'), code: 'ORPHAN_SIDECAR' }),
    );
    const neighbors = JSON.parse(run(['neighbors', '--k', '1', '--json']).stdout) as {
      path: string;
    }[];
    expect(neighbors.some((n) => /\.(mov|xmp|aae)$/i.test(n.path))).toBe(false);
  });

  it('pairs a Live Photo video renamed apart by its Apple content identifier, across rescans', () => {
    const find = (): GroupPhoto | undefined =>
      groupsOf()
        .flatMap((g) => g.photos)
        .find((p) => p.path === at('live', 'IMG_3001.JPG'));
    expect(find()?.companions).toEqual([at('live', 'Live Photo video 3001.MOV')]);
    expect(find()?.bundle).toBe('live-photo');
    const all = groupsOf().flatMap((g) =>
      g.photos.flatMap((p) => [p.path, ...(p.companions ?? [])]),
    );
    expect(all).not.toContain(at('live', 'unrelated.mov'));
    const rescan = run(['scan', lib, '--json']);
    expect(rescan.code, rescan.stderr).toBe(0);
    expect(find()?.companions).toEqual([at('live', 'Live Photo video 3001.MOV')]);
  });

  it('groups edited versions with their original and names the relation', () => {
    const groups = groupsOf();
    for (const [original, edited] of [
      ['IMG_0002.JPG', 'IMG_E0002.JPG'],
      ['beach.jpg', 'beach-edited.jpg'],
    ]) {
      const group = groups.find(
        (g) => g.kind !== 'exact' && g.photos.some((p) => p.path === at(edited)),
      );
      expect(group, edited).toBeDefined();
      expect(group!.photos.map((p) => p.path)).toContain(at(original));
      expect(group!.photos.find((p) => p.path === at(edited))?.bundle).toBe('edited-version');
    }
  });

  it('forms a similar group labelled burst from the burst identifier', () => {
    const burst = groupsOf().find((g) => g.label === 'burst');
    expect(burst?.kind).toBe('similar');
    expect(burst?.photos.map((p) => p.path).sort()).toEqual([
      at('burst', 'IMG_1001.JPG'),
      at('burst', 'IMG_1002.JPG'),
    ]);
  });

  it('plans, trashes and restores a bundle as one unit, keeping the copy that carries a RAW', () => {
    const planOut = run(['plan', '--json']);
    expect(planOut.code, planOut.stderr).toBe(0);
    const plan = JSON.parse(planOut.stdout) as {
      actions: { path: string; action: string; reason: string; companions: { path: string }[] }[];
    };
    const action = (p: string) => plan.actions.find((a) => a.path === p);
    expect(action(at('IMG_0001.JPG'))?.action).toBe('keep');
    expect(action(at('dup', 'IMG_0001-copy.jpg'))?.action).toBe('trash');
    const bundle = action(at('dup', 'IMG_0003.JPG'));
    expect(bundle?.action).toBe('trash');
    expect(bundle?.companions.map((c) => c.path).sort()).toEqual([
      at('dup', 'IMG_0003.JPG.xmp'),
      at('dup', 'IMG_0003.MOV'),
    ]);

    const planFile = path.join(tmp, 'plan.json');
    fs.writeFileSync(planFile, planOut.stdout);
    const applied = run(['apply', '--plan', planFile, '--yes', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const trash = path.join(env.XDG_DATA_HOME, 'Trash');
    for (const f of ['IMG_0003.JPG', 'IMG_0003.JPG.xmp', 'IMG_0003.MOV']) {
      expect(fs.existsSync(at('dup', f)), f).toBe(false);
      expect(fs.readdirSync(path.join(trash, 'files'))).toContain(f);
    }
    expect(fs.existsSync(at('IMG_0001.RAF'))).toBe(true);

    const undone = run(['undo', '--all', '--json']);
    expect(undone.code, undone.stderr).toBe(0);
    for (const f of ['IMG_0003.JPG', 'IMG_0003.JPG.xmp', 'IMG_0003.MOV', 'IMG_0001-copy.jpg']) {
      expect(fs.existsSync(at('dup', f)), f).toBe(true);
    }
    expect(fs.readdirSync(path.join(trash, 'files'))).toEqual([]);
  });
});
