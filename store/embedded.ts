/**
 * The embedded engine: MongoDB semantics (via mingo) over documents held in memory, made
 * durable in `<dataDir>/parley.sqlite` by group commit. Used when no MONGO_URL is set, so
 * Parley runs without a database server. One process may open a data directory at a time.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { InvalidQueryError, type Doc, type Store } from "./types.ts";
import { EmbeddedCollection } from "./embedded-collection.ts";
import { SqliteStorage } from "./embedded-sqlite.ts";
import { diskFileStorage, type FileStorage } from "./files.ts";

export { EmbeddedCollection, type Explain } from "./embedded-collection.ts";

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
  }
}

/**
 * Opens the embedded store in `options.dataDir` (created if needed), reading and writing
 * `parley.sqlite` there. Throws if the directory or the file cannot be opened.
 */
export function openEmbeddedStore(options: EmbeddedStoreOptions): EmbeddedStore {
  mkdirSync(options.dataDir, { recursive: true });
  return new EmbeddedStore(
    new SqliteStorage(join(options.dataDir, "parley.sqlite"), options.logger),
    options.dataDir,
  );
}
