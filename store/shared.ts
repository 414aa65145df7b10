/**
 * The embedded store shared by several Parley processes on one machine, through the bus.
 * The process that opens the data directory first owns the SQLite file (it holds an
 * exclusive lock on it) and answers the others' operations; every other process sends
 * each collection operation to the owner and gets its result back. Operations therefore
 * run one engine's MongoDB semantics in the owner's order, as if every process were the
 * owner. Blobs need no owner: every process writes and reads the same files under the
 * data directory (each write is a temporary file renamed into place).
 *
 * When the owner goes away, the next operation that finds nobody serving the store opens
 * the data directory itself; the first process to get the lock becomes the new owner and
 * says so on the bus, so that operations still waiting for the old owner give up soon.
 */
import type { Logger } from "pino";
import { type Bus, NoResponderError, RemoteError, UnansweredError } from "../bus/bus.ts";
import { EmbeddedStore, openEmbeddedStore, StoreLockedError } from "./embedded.ts";
import { diskFileStorage, type FileStorage } from "./files.ts";
import {
  type Collection,
  type Doc,
  DuplicateKeyError,
  InvalidQueryError,
  type Store,
} from "./types.ts";

/**
 * How long operations waiting when another process becomes the owner get to be answered
 * (by the old owner, if it still lives, or the new one, if they reached it) before they
 * are given up as lost with the old owner.
 */
const GRACE_MS = 2000;

/**
 * How many times an operation is sent again while the store's owner holds the lock but
 * does not answer on the bus, with pauses growing from 50 ms to 1 s (about 6 s in all).
 */
const RETRIES = 10;

/** The subject the owner of the store answers on. */
const STORE_SUBJECT = "store";

/** The collection operations a process may ask the owner to run. */
const OPERATIONS = [
  "findOne",
  "find",
  "countDocuments",
  "insertOne",
  "insertMany",
  "updateOne",
  "updateMany",
  "findOneAndUpdate",
  "deleteOne",
  "deleteMany",
  "createIndex",
] as const satisfies readonly (keyof Collection)[];
type Operation = (typeof OPERATIONS)[number];

/** The operations that change nothing, which may run again when their answer was lost. */
const READS: ReadonlySet<Operation> = new Set(["findOne", "find", "countDocuments"]);

/** One operation as it crosses the bus. */
interface StoreRequest {
  readonly collection: string;
  readonly operation: Operation;
  readonly args: readonly unknown[];
}

/** Options of openSharedStore. */
export interface SharedStoreOptions {
  /** The directory holding `parley.sqlite` and the blobs; the same for every process. */
  readonly dataDir: string;
  readonly bus: Bus;
  /** Receives the owner's group-commit failures and who owns the store. */
  readonly logger?: Logger;
  /** How long an operation may wait for the owner's answer (default 30 s). */
  readonly timeoutMs?: number;
}

function isStoreRequest(value: unknown): value is StoreRequest {
  const request = value as Partial<StoreRequest> | null;
  return (
    typeof request?.collection === "string" &&
    Array.isArray(request.args) &&
    (OPERATIONS as readonly unknown[]).includes(request.operation)
  );
}

/** The contract's error for a failure the owner answered with, or for a lost write. */
function localError(error: unknown): unknown {
  if (error instanceof UnansweredError) {
    return new Error(`The store's owner did not answer; the write may have been applied`, {
      cause: error,
    });
  }
  if (!(error instanceof RemoteError)) return error;
  const { collection, keyValue } = error.fields as { collection?: unknown; keyValue?: unknown };
  if (error.remoteName === "DuplicateKeyError") {
    return new DuplicateKeyError(String(collection), (keyValue ?? {}) as Record<string, unknown>);
  }
  if (error.remoteName === "InvalidQueryError") return new InvalidQueryError(error.message);
  return new Error(`The store's owner failed: ${error.message}`);
}

/** The embedded store as one process of several sees it. */
export interface SharedStore extends Store {
  /** Whether this process owns the SQLite file (and answers the others). */
  readonly isOwner: boolean;
}

class BusSharedStore implements SharedStore {
  readonly engine = "embedded" as const;
  readonly files: FileStorage;
  private readonly collections = new Map<string, Collection>();
  private owned: EmbeddedStore | null = null;
  private stopServing = async () => {};
  private takingOver: Promise<boolean> | null = null;
  private closed = false;

  constructor(private readonly options: SharedStoreOptions) {
    this.files = diskFileStorage(options.dataDir);
    options.bus.subscribe((event) => {
      if (event.kind === "store-owner-changed") options.bus.abandon(STORE_SUBJECT, GRACE_MS);
    });
  }

  get isOwner(): boolean {
    return this.owned !== null;
  }

  /** Opens the data directory and serves it; false when another process holds it. */
  async tryToOwn(): Promise<boolean> {
    let store: EmbeddedStore;
    try {
      const { dataDir, logger } = this.options;
      store = openEmbeddedStore({ dataDir, ...(logger ? { logger } : {}) });
    } catch (error) {
      if (error instanceof StoreLockedError) return false;
      throw error;
    }
    this.owned = store;
    this.stopServing = await this.options.bus.serve(STORE_SUBJECT, (request) =>
      this.answer(request),
    );
    // Whoever still waits for the previous owner's answers will not get them.
    this.options.bus.publish({ kind: "store-owner-changed" });
    this.options.logger?.info({ dataDir: this.options.dataDir }, "this process owns the store");
    return true;
  }

  private async answer(request: unknown): Promise<unknown> {
    // Taken while closing: the requester may send it again, to whoever owns the store next.
    if (this.closed) throw new NoResponderError("The store's owner is closing");
    if (!isStoreRequest(request)) throw new InvalidQueryError("Not a store operation");
    return this.run(request);
  }

  /** Runs one operation here when this process owns the store, else at the owner. */
  async run(request: StoreRequest): Promise<unknown> {
    if (this.closed) throw new Error("The store is closed");
    for (let attempt = 0; ; attempt++) {
      if (this.owned) return this.runOwned(this.owned, request);
      try {
        return await this.options.bus.request(
          STORE_SUBJECT,
          request,
          this.options.timeoutMs ?? 30_000,
        );
      } catch (error) {
        // A request nobody took may run again; one the owner took and lost only if it reads.
        const untaken =
          error instanceof NoResponderError ||
          (error instanceof RemoteError && error.remoteName === "NoResponderError");
        const again = untaken || (error instanceof UnansweredError && READS.has(request.operation));
        if (error instanceof UnansweredError) void this.takeOver();
        if (!again || attempt >= RETRIES) throw localError(error);
        // Take the store over. If another process holds it (it was quicker, or it is the
        // owner and not back on the bus yet, as after a bus outage), try it again soon.
        if (!(await this.takeOver())) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        }
      }
    }
  }

  private runOwned(store: EmbeddedStore, { collection, operation, args }: StoreRequest) {
    const target = store.collection(collection) as unknown as Record<
      Operation,
      (...args: unknown[]) => Promise<unknown>
    >;
    return target[operation](...args);
  }

  /** After the owner stopped answering: becomes the owner if the lock is free. */
  private takeOver(): Promise<boolean> {
    if (this.owned) return Promise.resolve(true);
    this.takingOver ??= this.tryToOwn()
      .catch((error: unknown) => {
        this.options.logger?.error({ err: error }, "the store could not be taken over");
        return false;
      })
      .finally(() => {
        this.takingOver = null;
      });
    return this.takingOver;
  }

  collection<T extends Doc = Doc>(name: string): Collection<T> {
    if (typeof name !== "string" || name.length === 0)
      throw new InvalidQueryError("A collection needs a name");
    let coll = this.collections.get(name);
    if (!coll) this.collections.set(name, (coll = sharedCollection(this, name)));
    return coll as unknown as Collection<T>;
  }

  /** Stops serving the others (the next process to need the store takes it over), then closes. */
  async close(): Promise<void> {
    this.closed = true;
    // Requests that reach this process from now on are answered as not taken.
    await this.stopServing();
    await this.owned?.close();
  }
}

function sharedCollection(store: BusSharedStore, name: string): Collection {
  const call =
    (operation: Operation) =>
    (...args: unknown[]) =>
      store.run({ collection: name, operation, args });
  return Object.fromEntries([
    ["name", name],
    ...OPERATIONS.map((operation) => [operation, call(operation)]),
  ]) as unknown as Collection;
}

/**
 * Opens the embedded store in `dataDir` shared over `bus`: owned by this process when no
 * other process holds it, reached through the owner otherwise. Throws when the directory
 * or the SQLite file cannot be opened for another reason than another process holding it.
 */
export async function openSharedStore(options: SharedStoreOptions): Promise<SharedStore> {
  const store = new BusSharedStore(options);
  if (!(await store.tryToOwn())) {
    options.logger?.info({ dataDir: options.dataDir }, "another process owns the store");
  }
  return store;
}
