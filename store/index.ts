/**
 * Entry point of the data layer: picks the engine. With a MongoDB URL the store runs on the
 * official driver; without one it is the embedded engine, persisted under the data directory.
 */
import { mkdirSync } from "node:fs";
import type { Logger } from "pino";
import type { Bus } from "../bus/bus.ts";
import type { Store } from "./types.ts";
import { openEmbeddedStore } from "./embedded.ts";
import { openMongoStore } from "./mongo.ts";
import { openSharedStore } from "./shared.ts";

export * from "./types.ts";
export type { FileBucket, FileStorage, StoredFile } from "./files.ts";

/** Options of openStore. */
export interface OpenStoreOptions {
  /** MongoDB connection string; when empty or absent the embedded engine is used. */
  readonly mongoUrl?: string;
  /** Directory for the embedded engine's `parley.sqlite`; created (recursively) if missing. */
  readonly dataDir: string;
  /** Receives the embedded engine's group-commit failures. */
  readonly logger?: Logger;
  /**
   * The bus to the deployment's other processes: without MongoDB, they share the
   * embedded store in `dataDir` through it (see store/shared.ts).
   */
  readonly bus?: Bus;
}

/**
 * Opens the store: MongoDB at `mongoUrl` when given, else the embedded engine in `dataDir`,
 * shared with the other processes on `bus` when there is one. `dataDir` is created in
 * every case. Throws when the directory cannot be created, the SQLite file cannot be
 * opened (StoreLockedError when another process holds it and there is no bus), or the
 * MongoDB server cannot be reached.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  mkdirSync(options.dataDir, { recursive: true });
  if (options.mongoUrl) return openMongoStore({ url: options.mongoUrl });
  if (options.bus) {
    return openSharedStore({
      dataDir: options.dataDir,
      bus: options.bus,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  return openEmbeddedStore({
    dataDir: options.dataDir,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
