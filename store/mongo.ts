/**
 * The MongoDB engine: the store contract on the official driver. Writes use a journaled
 * majority write concern, so an acknowledged write survives a crash of this process (and
 * of a standalone server's process). Ids stay 17-character strings: documents and upserts
 * without `_id` get one here rather than a driver-generated ObjectId.
 */
import {
  MongoClient,
  MongoInvalidArgumentError,
  MongoServerError,
  type Collection as DriverCollection,
  type Db,
  type Document,
} from "mongodb";
import {
  DuplicateKeyError,
  InvalidQueryError,
  type Collection,
  type Doc,
  type Filter,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexSpec,
  type Store,
  type Update,
  type UpdateOptions,
  type UpdateResult,
  UPDATE_OPERATORS,
} from "./types.ts";
import { isPlainObject, newId } from "./embedded-values.ts";
import { type FileStorage, gridFileStorage } from "./files.ts";

/** Options of openMongoStore. */
export interface MongoStoreOptions {
  /** A `mongodb://` or `mongodb+srv://` connection string. */
  readonly url: string;
  /** Database name; defaults to the one in the URL, else "parley". */
  readonly dbName?: string;
}

// Server error codes that mean "your filter, update, projection or index spec is wrong".
const INVALID_CODES = new Set([
  2, 9, 14, 15, 16, 17, 20, 22, 27, 28, 30, 40, 52, 54, 55, 56, 57, 66, 67, 72, 85, 86, 197,
]);

/** Translates driver errors into the contract's DuplicateKeyError / InvalidQueryError. */
function mapError(err: unknown, collection: string): unknown {
  if (err instanceof MongoServerError) {
    if (err.code === 11000 || err.code === 11001) {
      const first = Array.isArray(err.writeErrors) ? err.writeErrors[0] : err.writeErrors;
      const keyValue = err.keyValue ?? first?.err?.keyValue ?? first?.keyValue ?? {};
      return new DuplicateKeyError(collection, keyValue as Record<string, unknown>, { cause: err });
    }
    const code = typeof err.code === "number" ? err.code : -1;
    // Codes 15000-59999 are the server's "Location" codes, used by its query/update parsers.
    if (INVALID_CODES.has(code) || (code >= 15000 && code < 60000)) {
      return new InvalidQueryError(err.message, { cause: err });
    }
  }
  if (err instanceof MongoInvalidArgumentError)
    return new InvalidQueryError(err.message, { cause: err });
  return err;
}

function checkUpdate(update: Update): void {
  if (!isPlainObject(update) || Object.keys(update).length === 0) {
    throw new InvalidQueryError("An update must be a non-empty document of update operators");
  }
  for (const [op, operand] of Object.entries(update)) {
    if (!UPDATE_OPERATORS.has(op)) throw new InvalidQueryError(`Unknown update operator '${op}'`);
    if (!isPlainObject(operand))
      throw new InvalidQueryError(`The operand of ${op} must be a document`);
    for (const [path, value] of Object.entries(operand)) {
      if (path.startsWith("$"))
        throw new InvalidQueryError(`${op}: field paths may not start with '$': '${path}'`);
      if (op === "$set" || op === "$setOnInsert") checkFieldNames(value, `${path}.`);
    }
  }
}

// The embedded engine refuses `$` field names anywhere; refuse them here too so both agree.
function checkFieldNames(value: unknown, path: string): void {
  if (Array.isArray(value)) value.forEach((v, i) => checkFieldNames(v, `${path}.${i}`));
  else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith("$"))
        throw new InvalidQueryError(`Field names may not start with '$': '${path}${k}'`);
      checkFieldNames(v, `${path}${k}.`);
    }
  }
}

function withId(doc: Doc): Document {
  checkFieldNames(doc, "");
  return doc._id === undefined ? { ...doc, _id: newId() } : doc;
}

// An upsert that inserts must get a string `_id`, unless the filter pins one.
function upsertUpdate(filter: Filter, update: Update, upsert: boolean | undefined): Update {
  if (!upsert || "_id" in filter) return update;
  const onInsert = isPlainObject(update.$setOnInsert) ? update.$setOnInsert : {};
  if ("_id" in onInsert) return update;
  return { ...update, $setOnInsert: { _id: newId(), ...onInsert } };
}

/** A collection on the MongoDB driver. Obtain it from MongoStore.collection(). */
export class MongoCollection<T extends Doc = Doc> implements Collection<T> {
  /**
   * Wraps the driver collection `coll`. With `transactions` (replica set or mongos),
   * updateMany runs in a transaction through `client` so a failure writes nothing.
   */
  constructor(
    private readonly coll: DriverCollection<Document>,
    private readonly client: MongoClient,
    private readonly transactions: boolean,
  ) {}

  /** The collection's name. */
  get name(): string {
    return this.coll.collectionName;
  }

  /** First match of `filter` under `options` (sort/skip/projection), copied; null if none. */
  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    const { limit: _ignored, ...rest } = options;
    return this.run(async () => (await this.coll.findOne(filter, rest)) as T | null);
  }

  /** All matches of `filter` under `options` (sort, skip, limit 0 = none, projection), copied. */
  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.run(
      async () => (await this.coll.find(filter, options).toArray()) as unknown as T[],
    );
  }

  /** Number of documents matching `filter` (default: all). */
  async countDocuments(filter: Filter = {}): Promise<number> {
    return this.run(() => this.coll.countDocuments(filter));
  }

  /** Inserts a copy of `doc` (a missing `_id` is generated); throws DuplicateKeyError on collision. */
  async insertOne(doc: T): Promise<void> {
    await this.run(() => this.coll.insertOne(withId(doc)));
  }

  /** Inserts copies in order, stopping at the first failure (which is thrown). */
  async insertMany(docs: readonly T[]): Promise<void> {
    if (docs.length === 0) return;
    const prepared: Document[] = [];
    for (const doc of docs) {
      try {
        prepared.push(withId(doc));
      } catch (err) {
        // Ordered semantics: the documents before the invalid one are still inserted.
        if (prepared.length > 0)
          await this.run(() => this.coll.insertMany(prepared, { ordered: true }));
        throw err;
      }
    }
    await this.run(() => this.coll.insertMany(prepared, { ordered: true }));
  }

  /** Applies `update` to the first match, or upserts when `options.upsert`; see UpdateResult. */
  async updateOne(
    filter: Filter,
    update: Update,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    checkUpdate(update);
    const u = upsertUpdate(filter, update, options.upsert);
    const r = await this.run(() =>
      this.coll.updateOne(filter, u, { upsert: options.upsert === true }),
    );
    return {
      matchedCount: r.matchedCount,
      modifiedCount: r.modifiedCount,
      upsertedId: r.upsertedId ? String(r.upsertedId) : null,
    };
  }

  /** Applies `update` to every match; atomic only where the deployment has transactions. */
  async updateMany(
    filter: Filter,
    update: Update,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    checkUpdate(update);
    const u = upsertUpdate(filter, update, options.upsert);
    const upsert = options.upsert === true;
    const r = await this.run(async () => {
      if (!this.transactions) return this.coll.updateMany(filter, u, { upsert });
      // A standalone server cannot roll back: there a failing updateMany keeps earlier documents.
      const session = this.client.startSession();
      try {
        return await session.withTransaction(() =>
          this.coll.updateMany(filter, u, { upsert, session }),
        );
      } finally {
        await session.endSession();
      }
    });
    return {
      matchedCount: r.matchedCount,
      modifiedCount: r.modifiedCount,
      upsertedId: r.upsertedId ? String(r.upsertedId) : null,
    };
  }

  /** Updates (or upserts) the first match under `options.sort`; returns it "after" (default) or "before". */
  async findOneAndUpdate(
    filter: Filter,
    update: Update,
    options: FindOneAndUpdateOptions = {},
  ): Promise<T | null> {
    checkUpdate(update);
    const u = upsertUpdate(filter, update, options.upsert);
    return this.run(
      async () =>
        (await this.coll.findOneAndUpdate(filter, u, {
          upsert: options.upsert === true,
          returnDocument: options.returnDocument ?? "after",
          ...(options.sort ? { sort: options.sort } : {}),
          ...(options.projection ? { projection: options.projection } : {}),
          includeResultMetadata: false,
        })) as T | null,
    );
  }

  /** Removes the first match; resolves to 0 or 1. */
  async deleteOne(filter: Filter): Promise<number> {
    return (await this.run(() => this.coll.deleteOne(filter))).deletedCount;
  }

  /** Removes every match; resolves to how many were removed. */
  async deleteMany(filter: Filter): Promise<number> {
    return (await this.run(() => this.coll.deleteMany(filter))).deletedCount;
  }

  /** Creates the index unless one with the same key and options exists; throws DuplicateKeyError over duplicate data. */
  async createIndex(spec: IndexSpec): Promise<void> {
    await this.run(() =>
      this.coll.createIndex(spec.key, {
        ...(spec.unique ? { unique: true } : {}),
        ...(spec.sparse ? { sparse: true } : {}),
        ...(spec.name ? { name: spec.name } : {}),
      }),
    );
  }

  private async run<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw mapError(err, this.name);
    }
  }
}

/** A Store on a MongoDB server. */
export class MongoStore implements Store {
  readonly engine = "mongodb" as const;
  readonly files: FileStorage;

  /** Wraps a connected client and its database; use openMongoStore() rather than this. */
  constructor(
    private readonly client: MongoClient,
    /** The driver database, for tests and maintenance (e.g. dropping a scratch database). */
    readonly db: Db,
    /** Whether the deployment supports transactions (replica set or sharded cluster). */
    readonly transactions: boolean,
  ) {
    this.files = gridFileStorage(db);
  }

  /** The collection `name` (created by the server on first write). */
  collection<T extends Doc = Doc>(name: string): MongoCollection<T> {
    return new MongoCollection<T>(this.db.collection(name), this.client, this.transactions);
  }

  /** Closes the client's connections. */
  async close(): Promise<void> {
    await this.client.close();
  }
}

/**
 * Connects to the server at `options.url` and returns a store on `options.dbName` (default:
 * the URL's database, else "parley"). Throws the driver's error if the server is unreachable.
 */
export async function openMongoStore(options: MongoStoreOptions): Promise<MongoStore> {
  const client = new MongoClient(options.url, {
    writeConcern: { w: "majority", journal: true },
    ignoreUndefined: false,
    // Binary values come back as byte arrays, as from the embedded engine.
    promoteBuffers: true,
  });
  await client.connect();
  const hello = await client.db("admin").command({ hello: 1 });
  const transactions = typeof hello.setName === "string" || hello.msg === "isdbgrid";
  const fromUrl = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(options.url)?.[1];
  const db = client.db(options.dbName ?? (fromUrl ? decodeURIComponent(fromUrl) : "parley"));
  return new MongoStore(client, db, transactions);
}
