/**
 * Durable storage of the embedded engine: one SQLite file holding every collection's
 * documents and index definitions, written by group commit. Writes are queued and the
 * queue is flushed in one transaction on the next event-loop turn; each queued write's
 * promise settles when that transaction has committed (or failed).
 *
 * The journal is WAL with `synchronous=NORMAL`: a committed transaction survives the
 * process being killed (`kill -9`), but an operating-system crash or power loss may lose
 * the last transactions, which were in the OS page cache and not yet fsynced.
 *
 * When a flush fails, its writes' promises reject and the failure is logged, but memory
 * already holds those writes: the process should treat the store as failed and restart.
 */
import { Database } from "bun:sqlite";
import type { Logger } from "pino";
import type { Doc, IndexSpec } from "./types.ts";
import { decodeStored, encodeStored } from "./embedded-values.ts";

type Op =
  | { kind: "put"; coll: string; id: string; doc: Doc }
  | { kind: "delete"; coll: string; id: string }
  | { kind: "index"; coll: string; name: string; spec: IndexSpec };

interface Batch {
  readonly ops: Map<string, Op>;
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/** The SQLite file behind an embedded store. Not safe to open twice at once. */
export class SqliteStorage {
  private readonly db: Database;
  private batch: Batch | null = null;
  private timer: ReturnType<typeof setImmediate> | null = null;
  private closed = false;

  /**
   * Opens (creating if needed) the database file at `path`.
   * `logger` receives flush failures. Throws if the file cannot be opened.
   */
  constructor(
    path: string,
    private readonly logger?: Logger,
  ) {
    this.db = new Database(path, { create: true, readwrite: true });
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS docs (coll TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (coll, id)) WITHOUT ROWID",
    );
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS indexes (coll TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, PRIMARY KEY (coll, name)) WITHOUT ROWID",
    );
  }

  /** True once close() has run. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Every stored document of collection `coll`, decoded (Dates restored). */
  loadDocs(coll: string): Doc[] {
    const rows = this.db
      .query<{ body: string }, [string]>("SELECT body FROM docs WHERE coll = ?")
      .all(coll);
    return rows.map((r) => decodeStored(r.body) as Doc);
  }

  /** Every stored index definition of collection `coll`. */
  loadIndexes(coll: string): IndexSpec[] {
    const rows = this.db
      .query<{ spec: string }, [string]>("SELECT spec FROM indexes WHERE coll = ?")
      .all(coll);
    return rows.map((r) => JSON.parse(r.spec) as IndexSpec);
  }

  /** Queues storing `doc` (which must never be mutated afterwards); resolves once durable. */
  put(coll: string, doc: Doc): Promise<void> {
    return this.enqueue({ kind: "put", coll, id: doc._id, doc });
  }

  /** Queues removing document `id`; resolves once durable. */
  delete(coll: string, id: string): Promise<void> {
    return this.enqueue({ kind: "delete", coll, id });
  }

  /** Queues recording an index definition; resolves once durable. */
  putIndex(coll: string, name: string, spec: IndexSpec): Promise<void> {
    return this.enqueue({ kind: "index", coll, name, spec });
  }

  /** Resolves once every write queued so far is durable (immediately when none is queued). */
  barrier(): Promise<void> {
    return this.batch ? this.batch.promise : Promise.resolve();
  }

  /** Flushes what is queued, synchronously, then closes the file. Idempotent. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearImmediate(this.timer);
    this.flush();
    this.closed = true;
    this.db.close();
  }

  private enqueue(op: Op): Promise<void> {
    if (this.closed) return Promise.reject(new Error("The store is closed"));
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.batch = { ops: new Map(), promise, resolve, reject };
      this.timer = setImmediate(() => this.flush());
    }
    // A later write of the same key supersedes an earlier one in the same transaction.
    const key =
      op.kind === "index" ? `i\u0000${op.coll}\u0000${op.name}` : `d\u0000${op.coll}\u0000${op.id}`;
    this.batch.ops.delete(key);
    this.batch.ops.set(key, op);
    return this.batch.promise;
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = null;
    this.timer = null;
    if (!batch) return;
    try {
      const put = this.db.query("INSERT OR REPLACE INTO docs (coll, id, body) VALUES (?, ?, ?)");
      const del = this.db.query("DELETE FROM docs WHERE coll = ? AND id = ?");
      const idx = this.db.query(
        "INSERT OR REPLACE INTO indexes (coll, name, spec) VALUES (?, ?, ?)",
      );
      this.db.transaction(() => {
        for (const op of batch.ops.values()) {
          if (op.kind === "put") put.run(op.coll, op.id, encodeStored(op.doc));
          else if (op.kind === "delete") del.run(op.coll, op.id);
          else idx.run(op.coll, op.name, JSON.stringify(op.spec));
        }
      })();
      batch.resolve();
    } catch (err) {
      this.logger?.error({ err, writes: batch.ops.size }, "embedded store: flush to SQLite failed");
      batch.reject(err);
    }
  }
}
