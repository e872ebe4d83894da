/** Ordered list of schema migrations; index i upgrades schema i to i+1. Never edit a shipped one. */
import type Database from 'better-sqlite3';
import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-journal';
import { migration0003 } from './0003-labels';
import { migration0004 } from './0004-bundles';
import { migration0005 } from './0005-sharpness';

export const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
];
