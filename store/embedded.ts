/**
 * The embedded engine: MongoDB semantics (via mingo) over documents held in memory, made
 * durable in `<dataDir>/parley.sqlite` by group commit. Used when no MONGO_URL is set, so
 * Parley runs without a database server. One store opens a data directory at a time: it
 * holds an exclusive lock on `<dataDir>/parley.lock`, which the operating system releases
 * when the process ends, however it ends, so a second open (in any process) throws
 * StoreLockedError. Other processes reach the store through the bus (store/shared.ts).
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { InvalidQueryError, type Doc, type Store } from "./types.ts";
import { EmbeddedCollection } from "./embedded-collection.ts";
import { SqliteStorage } from "./embedded-sqlite.ts";
import { diskFileStorage, type FileStorage } from "./files.ts";

export { EmbeddedCollection, type Explain } from "./embedded-collection.ts";

/** Another store, in this process or another, has the data directory open. */
export class StoreLockedError extends Error {
  override readonly name = "StoreLockedError";

  constructor(readonly dataDir: string) {
    super(`${dataDir} is open in another process`);
  }
}

/**
 * Takes the data directory's lock: a SQLite file in exclusive locking mode, whose lock is
 * taken by its first write and held until the connection closes or the process dies.
 */
function lockDataDir(dataDir: string): Database {
  const lock = new Database(join(dataDir, "parley.lock"), { create: true, readwrite: true });
  try {
    lock.exec("PRAGMA locking_mode = EXCLUSIVE");
    lock.exec("BEGIN IMMEDIATE");
    lock.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER)");
    lock.exec("COMMIT");
    return lock;
  } catch (error) {
    lock.close();
    if ((error as { code?: unknown }).code === "SQLITE_BUSY") throw new StoreLockedError(dataDir);
    throw error;
  }
}

/** Options of openEmbeddedStore. */
export interface EmbeddedStoreOptions {
  /** Directory holding `parley.sqlite`; created (recursively) when missing. */
  readonly dataDir: string;
  /** Receives group-commit failures (the affected writes are also rejected). */
  readonly logger?: Logger;
}

/** A Store on the embedded engine. Collections load lazily, on first use. */
export class EmbeddedStore implements Store {
  readonly engine = "embedded" as const;
  private readonly collections = new Map<string, EmbeddedCollection>();

  readonly files: FileStorage;

  /** Wraps an open SqliteStorage; use openEmbeddedStore() rather than this. */
  constructor(
    private readonly storage: SqliteStorage,
    dataDir: string,
    private readonly lock?: Database,
  ) {
    this.files = diskFileStorage(dataDir);
  }

  /**
   * The collection `name`, loading its documents and indexes on first use.
   * Throws InvalidQueryError for an empty name, Error once the store is closed.
   */
  collection<T extends Doc = Doc>(name: string): EmbeddedCollection<T> {
    if (this.storage.isClosed) throw new Error("The store is closed");
    if (typeof name !== "string" || name.length === 0)
      throw new InvalidQueryError("A collection needs a name");
    let coll = this.collections.get(name);
    if (!coll) this.collections.set(name, (coll = new EmbeddedCollection(name, this.storage)));
    return coll as unknown as EmbeddedCollection<T>;
  }

  /** Commits every queued write, then closes the SQLite file. Idempotent. */
  async close(): Promise<void> {
    this.storage.close();
    this.lock?.close();
  }
}

/**
 * Opens the embedded store in `options.dataDir` (created if needed), reading and writing
 * `parley.sqlite` there. Throws StoreLockedError when another store has the directory
 * open, and an Error when the directory or the file cannot be opened.
 */
export function openEmbeddedStore(options: EmbeddedStoreOptions): EmbeddedStore {
  mkdirSync(options.dataDir, { recursive: true });
  const lock = lockDataDir(options.dataDir);
  try {
    return new EmbeddedStore(
      new SqliteStorage(join(options.dataDir, "parley.sqlite"), options.logger),
      options.dataDir,
      lock,
    );
  } catch (error) {
    lock.close();
    throw error;
  }
}
