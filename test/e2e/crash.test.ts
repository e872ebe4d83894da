/**
 * Crash test of the safe-actions engine: the built CLI applies a plan and is killed with SIGKILL
 * at random instants, many times. After each kill the journal is reconciled and every file must
 * exist exactly once (at its source or where it was sent), with its bytes intact, bundles whole,
 * and the journal settled; then undo must bring everything back.
 *
 * Env: DOPPEL_CRASH_SEED (random seed), DOPPEL_CRASH_ITERATIONS (default 30).
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src-main/engine/db/database';
import { buildPlan } from '../../src-main/engine/actions/plan.service';
import type { Plan } from '../../src-main/engine/actions/plan.schema';
import {
  reconcileJournal,
  type ReconcileReport,
} from '../../src-main/engine/actions/reconcile.service';
import { readTrashInfoPath } from '../../src-main/engine/actions/freedesktop-trash';
import { REPO_ROOT } from '../helpers/shared-data';

const BIN = path.join(REPO_ROOT, 'bin', 'doppel.js');
const ITERATIONS = Number(process.env.DOPPEL_CRASH_ITERATIONS ?? 30);
const SEED = Number(process.env.DOPPEL_CRASH_SEED ?? Date.now() % 1_000_000);
const STEP_DELAY_MS = 5;
const TIME_BUDGET_MS = 150_000;

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Lib {
  dir: string;
  root: string;
  dataHome: string;
  trash: string;
  moveTo: string;
  dbFile: string;
  planFile: string;
  /** sha256 -> original absolute path, for every file of the library. */
  files: Map<string, string>;
  /** Steps: the files (photo first) that must travel together. */
  bundles: string[][];
}

function sha(buf: Buffer): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/** Ten near-duplicate pairs; four of the photos to trash carry an XMP sidecar and a MOV video. */
function makeLibrary(): Lib {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-crash-'));
  const root = path.join(dir, 'photos');
  const dataHome = path.join(dir, 'home', '.local', 'share');
  fs.mkdirSync(dataHome, { recursive: true });
  const dbFile = path.join(dir, 'library.sqlite');
  const db = openDatabase(dbFile);
  db.prepare(`INSERT INTO scans (started_at, roots, status) VALUES ('t', ?, 'completed')`).run(
    JSON.stringify([root]),
  );
  const files = new Map<string, string>();
  const write = (file: string, size: number): { size: number; mtimeMs: number; hash: string } => {
    const bytes = crypto.randomBytes(size);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    files.set(sha(bytes), file);
    return { size, mtimeMs: fs.statSync(file).mtimeMs, hash: sha(bytes) };
  };
  const insert = db.prepare(
    `INSERT INTO photos (path, path_bytes, size, mtime_ms, content_hash, format, width, height, exif_fields, status)
     VALUES (?, ?, ?, ?, ?, 'jpeg', ?, ?, 20, 'ok')`,
  );
  const companions = new Map<string, { path: string; size: number; mtimeMs: number }[]>();
  for (let i = 0; i < 10; i++) {
    const keep = path.join(root, 'albums', `IMG_${i}.jpg`);
    const dupe = path.join(root, 'inbox', `day${i % 3}`, `IMG_${i} small.jpg`);
    const k = write(keep, 20_000 + i);
    const d = write(dupe, 9_000 + i);
    const kid = insert.run(
      keep,
      Buffer.from(keep),
      k.size,
      k.mtimeMs,
      k.hash,
      4000,
      3000,
    ).lastInsertRowid;
    const did = insert.run(
      dupe,
      Buffer.from(dupe),
      d.size,
      d.mtimeMs,
      d.hash,
      1000,
      750,
    ).lastInsertRowid;
    const gid = db
      .prepare(`INSERT INTO groups (kind) VALUES ('near-duplicate')`)
      .run().lastInsertRowid;
    db.prepare('INSERT INTO group_members VALUES (?, ?, 0, 0), (?, ?, 1, 0.1)').run(
      gid,
      kid,
      gid,
      did,
    );
    if (i % 3 === 0) {
      const side = [`${dupe}.xmp`, dupe.replace(/\.jpg$/, '.MOV')].map((p, j) => ({
        path: p,
        ...write(p, 3_000 + j),
      }));
      companions.set(
        dupe,
        side.map((s) => ({ path: s.path, size: s.size, mtimeMs: s.mtimeMs })),
      );
    }
  }
  const built = buildPlan(db);
  db.close();
  const plan: Plan = {
    ...built,
    actions: built.actions.map((a) => ({
      ...a,
      companions: companions.get(a.path) ?? a.companions,
    })),
  };
  const planFile = path.join(dir, 'plan.json');
  fs.writeFileSync(planFile, JSON.stringify(plan));
  return {
    dir,
    root,
    dataHome,
    trash: path.join(dataHome, 'Trash'),
    moveTo: path.join(dir, 'moved'),
    dbFile,
    planFile,
    files,
    bundles: plan.actions
      .filter((a) => a.action === 'trash')
      .map((a) => [a.path, ...a.companions.map((c) => c.path)]),
  };
}

function listAll(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((p) => path.join(dir, p))
    .filter((p) => fs.lstatSync(p).isFile());
}

interface RunOutcome {
  killed: boolean;
  exitCode: number | null;
  ms: number;
}

/** Runs the CLI; kills it with SIGKILL after `killAfterMs` when given. */
/** When to kill: a fixed time after spawning, or a time after the run's journal row appears. */
type KillAt = { afterSpawnMs: number } | { afterRunStartMs: number };

function maxRunId(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return (
      db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM action_runs').get() as { id: number }
    ).id;
  } finally {
    db.close();
  }
}

/** Runs the CLI; kills it with SIGKILL at `kill` when given. */
function runCli(
  lib: Lib,
  args: string[],
  env: Record<string, string>,
  kill?: KillAt,
): Promise<RunOutcome> {
  const started = Date.now();
  const baseline = kill && 'afterRunStartMs' in kill ? maxRunId(lib.dbFile) : 0;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--db', lib.dbFile], {
      env: {
        ...process.env,
        HOME: path.join(lib.dir, 'home'),
        XDG_DATA_HOME: lib.dataHome,
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timers: NodeJS.Timeout[] = [];
    if (kill && 'afterSpawnMs' in kill) {
      timers.push(setTimeout(() => child.kill('SIGKILL'), kill.afterSpawnMs));
    } else if (kill) {
      // Poll the journal (WAL lets a reader in while the CLI writes) for the run to begin.
      const poll = setInterval(() => {
        if (maxRunId(lib.dbFile) === baseline) return;
        clearInterval(poll);
        timers.push(setTimeout(() => child.kill('SIGKILL'), kill.afterRunStartMs));
      }, 3);
      timers.push(poll);
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      timers.forEach((t) => clearTimeout(t));
      if (signal === null && code !== 0)
        reject(new Error(`doppel ${args[0]} exited ${code}: ${stderr}`));
      else resolve({ killed: signal === 'SIGKILL', exitCode: code, ms: Date.now() - started });
    });
  });
}

/**
 * The invariants after a reconcile: every library file exists exactly once across the library,
 * the trash and the move target, with its original bytes; where it is agrees with the journal;
 * a bundle is all at its source or all away; each trashed file has its .trashinfo and no
 * .trashinfo lacks its file; no partial copy remains; nothing is left mid-way in the journal.
 */
function checkInvariants(lib: Lib, db: Db): { away: number } {
  const found = new Map<string, string[]>();
  const places = [
    ...listAll(lib.root),
    ...listAll(path.join(lib.trash, 'files')),
    ...listAll(lib.moveTo),
  ];
  for (const file of places) {
    const hash = sha(fs.readFileSync(file));
    found.set(hash, [...(found.get(hash) ?? []), file]);
  }
  for (const [hash, original] of lib.files) {
    expect(found.get(hash), `${original} must exist exactly once`).toHaveLength(1);
  }
  expect(
    places.length,
    `unexpected files: ${places.filter((p) => !lib.files.has(sha(fs.readFileSync(p))))}`,
  ).toBe(lib.files.size);

  const entries = db
    .prepare<[], { source_path: string; dest_path: string; state: string }>(
      `SELECT source_path, dest_path, state FROM action_entries e
       WHERE id = (SELECT MAX(id) FROM action_entries x WHERE x.source_path = e.source_path)`,
    )
    .all();
  const latest = new Map(entries.map((e) => [e.source_path, e]));
  let away = 0;
  for (const bundle of lib.bundles) {
    const atSource = bundle.map((p) => fs.existsSync(p));
    expect(new Set(atSource).size, `bundle ${bundle[0]} must not be split`).toBe(1);
    for (const file of bundle) {
      const e = latest.get(file);
      const isAway = e?.state === 'done';
      expect(fs.existsSync(file), `${file} vs journal state ${e?.state}`).toBe(!isAway);
      if (isAway) {
        away += 1;
        expect(fs.existsSync(e.dest_path)).toBe(true);
      }
    }
  }
  const stuck = db
    .prepare(
      `SELECT COUNT(*) AS n FROM action_entries WHERE state IN ('planned', 'moving', 'undoing')`,
    )
    .get() as { n: number };
  expect(stuck.n).toBe(0);
  const running = db
    .prepare(`SELECT COUNT(*) AS n FROM action_runs WHERE status = 'running'`)
    .get() as { n: number };
  expect(running.n).toBe(0);

  const trashFiles = listAll(path.join(lib.trash, 'files'))
    .map((f) => path.basename(f))
    .sort();
  const infos = listAll(path.join(lib.trash, 'info'))
    .map((f) => path.basename(f, '.trashinfo'))
    .sort();
  expect(infos).toEqual(trashFiles);
  for (const name of infos) {
    const original = readTrashInfoPath(path.join(lib.trash, 'info', `${name}.trashinfo`));
    expect(lib.bundles.flat()).toContain(original);
  }
  return { away };
}

function reconcileNow(lib: Lib): { report: ReconcileReport; away: number } {
  const db = openDatabase(lib.dbFile);
  try {
    const report = reconcileJournal(db);
    return { report, away: checkInvariants(lib, db).away };
  } finally {
    db.close();
  }
}

function expectAllBack(lib: Lib): void {
  for (const [hash, original] of lib.files) {
    expect(sha(fs.readFileSync(original)), original).toBe(hash);
  }
  expect(listAll(path.join(lib.trash, 'files'))).toEqual([]);
  expect(listAll(path.join(lib.trash, 'info'))).toEqual([]);
  expect(listAll(lib.moveTo)).toEqual([]);
}

let lib: Lib;
beforeAll(() => {
  // Build the CLI from the current sources. Type errors elsewhere in the tree do not stop tsc from
  // emitting, so success is judged by the CLI answering below, not by tsc's exit code.
  try {
    execFileSync(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      {
        cwd: REPO_ROOT,
        stdio: 'pipe',
      },
    );
  } catch {
    // Reported through the `--help` check.
  }
  execFileSync(process.execPath, [BIN, 'apply', '--help'], { stdio: 'pipe' });
  lib = makeLibrary();
});
afterAll(() => {
  if (lib) fs.rmSync(lib.dir, { recursive: true, force: true });
});

describe('doppel apply killed with SIGKILL at random points', () => {
  it('leaves every file exactly once, bundles whole and the journal reconciled, and undo restores all', async () => {
    const random = prng(SEED);
    const modes = [
      { name: 'trash', args: [] as string[], env: {} as Record<string, string> },
      { name: 'trash, across devices', args: [], env: { DOPPEL_TEST_FOLDERS_AS_DEVICES: '1' } },
      { name: 'move-to', args: ['--move-to', lib.moveTo], env: {} },
      {
        name: 'move-to, across devices',
        args: ['--move-to', lib.moveTo],
        env: { DOPPEL_TEST_FOLDERS_AS_DEVICES: '1' },
      },
    ];
    const delayEnv = { DOPPEL_TEST_STEP_DELAY_MS: String(STEP_DELAY_MS) };

    // Calibrate: how long a whole run takes, so kills spread over the run rather than the start-up.
    const full = await runCli(lib, ['apply', '--plan', lib.planFile, '--yes', '--json'], delayEnv);
    expect(reconcileNow(lib).away).toBe(lib.bundles.flat().length);
    const fullUndo = await runCli(lib, ['undo', '--all'], delayEnv);
    expectAllBack(lib);
    const startup = Math.min(
      (await runCli(lib, ['undo', '--last', '1'], {})).ms,
      (await runCli(lib, ['undo', '--last', '1'], {})).ms,
    );
    // Most kills land a random time after the run has begun (measured from its journal row, so
    // a slow start-up under load does not matter); a quarter are timed from the spawn and may
    // fall before the run starts, which must be harmless too.
    const killWithin = (ms: number): KillAt =>
      random() < 0.75
        ? { afterRunStartMs: Math.round(random() * Math.max(50, (ms - startup) * 1.1)) }
        : { afterSpawnMs: Math.round(startup * 0.5 + random() * ms) };

    const stats = {
      iterations: 0,
      killedMidRun: 0,
      settledMidStep: 0,
      finishedBeforeKill: 0,
      partlyDone: 0,
      undoKilled: 0,
      rolledBack: 0,
    };
    const t0 = Date.now();
    for (let i = 0; i < ITERATIONS && Date.now() - t0 < TIME_BUDGET_MS; i++) {
      const mode = modes[Math.floor(random() * modes.length)];
      const killAt = killWithin(full.ms);
      const run = await runCli(
        lib,
        ['apply', '--plan', lib.planFile, '--yes', '--json', ...mode.args],
        { ...mode.env, ...delayEnv },
        killAt,
      );
      const { report, away } = reconcileNow(lib);
      stats.iterations += 1;
      if (!run.killed) stats.finishedBeforeKill += 1;
      if (report.interruptedRuns > 0) stats.killedMidRun += 1;
      if (report.settled > 0) stats.settledMidStep += 1;
      if (away > 0 && away < lib.bundles.flat().length) stats.partlyDone += 1;
      stats.rolledBack += report.rolledBack;

      if (random() < 0.4 && away > 0) {
        const undo = await runCli(
          lib,
          ['undo', '--all'],
          { ...mode.env, ...delayEnv },
          killWithin(fullUndo.ms),
        );
        if (undo.killed) stats.undoKilled += 1;
        reconcileNow(lib);
      }
      await runCli(lib, ['undo', '--all'], mode.env);
      expectAllBack(lib);
    }
    console.log(
      `crash test (seed ${SEED}): full apply ${full.ms} ms, full undo ${fullUndo.ms} ms, start-up ${startup} ms; ` +
        `${stats.iterations} kills: ${stats.killedMidRun} mid-run, ${stats.settledMidStep} with files mid-step, ` +
        `${stats.partlyDone} with part of the plan done, ${stats.finishedBeforeKill} finished before the kill; ` +
        `${stats.rolledBack} bundle files put back; ${stats.undoKilled} undos killed too; ${Date.now() - t0} ms`,
    );
    expect(stats.iterations).toBeGreaterThanOrEqual(Math.min(ITERATIONS, 10));
    expect(stats.settledMidStep).toBeGreaterThan(0);
  });
});
