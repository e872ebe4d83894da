/**
 * Schema 3: what Doppel learns from its user: triplet labels, "not a duplicate" pairs (keyed by
 * content, so they outlive renames and rescans), and every head trained from them.
 */
import type Database from 'better-sqlite3';

export function migration0003(db: Database.Database): void {
  db.exec(`
    -- "better is a better match for query than worse". A pair decision leaves one partner NULL:
    -- worse only = "query and worse are not duplicates"; better only = "they are". Paths are kept
    -- for export and display; training goes by content hash.
    CREATE TABLE labels (
      id INTEGER PRIMARY KEY,
      query_hash TEXT NOT NULL,
      query_path TEXT NOT NULL,
      better_hash TEXT,
      better_path TEXT,
      worse_hash TEXT,
      worse_path TEXT,
      source TEXT NOT NULL
        CHECK (source IN ('explicit', 'split', 'keep-all', 'trash-confirmed', 'import')),
      weight REAL NOT NULL CHECK (weight > 0 AND weight <= 1),
      created_at TEXT NOT NULL,
      CHECK (better_hash IS NOT NULL OR worse_hash IS NOT NULL),
      CHECK ((better_hash IS NULL) = (better_path IS NULL)),
      CHECK ((worse_hash IS NULL) = (worse_path IS NULL))
    ) STRICT;
    CREATE UNIQUE INDEX labels_by_query_hash_better_hash_worse_hash_source
      ON labels (query_hash, IFNULL(better_hash, ''), IFNULL(worse_hash, ''), source);

    -- Two contents the user said are different pictures; grouping never puts them together.
    CREATE TABLE not_duplicate_pairs (
      hash_a TEXT NOT NULL,
      hash_b TEXT NOT NULL,
      path_a TEXT NOT NULL,
      path_b TEXT NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('explicit', 'split', 'keep-all', 'import')),
      created_at TEXT NOT NULL,
      PRIMARY KEY (hash_a, hash_b),
      CHECK (hash_a < hash_b)
    ) STRICT, WITHOUT ROWID;

    -- Heads trained on this machine. Version 1 is the shipped head, which lives in the model
    -- folder and has no row. A head fits only the network and shipped head it was trained from.
    CREATE TABLE heads (
      version INTEGER PRIMARY KEY CHECK (version >= 2),
      created_at TEXT NOT NULL,
      parent INTEGER NOT NULL,
      network_version TEXT NOT NULL,
      base_head TEXT NOT NULL,
      in_dims INTEGER NOT NULL,
      out_dims INTEGER NOT NULL,
      weights BLOB NOT NULL,
      metrics TEXT NOT NULL
    ) STRICT;
  `);
}
