/**
 * The data layer's contract. Every service speaks MongoDB's query and update language
 * through these types, and both engines (the MongoDB driver and the embedded engine)
 * implement them with the same semantics, so domain code is written once.
 */
import type { FileStorage } from "./files.ts";

/** A stored document. Ids are strings (Rocket.Chat uses 17-character random ids). */
export type Doc = { _id: string } & Record<string, unknown>;

/** A MongoDB query filter, e.g. `{ rid, ts: { $gt: since } }`. */
export type Filter = Record<string, unknown>;

/** A MongoDB update document made of operators, e.g. `{ $set: { msg }, $inc: { msgs: 1 } }`. */
export type Update = Record<string, unknown>;

/** The update operators of the contract; both engines refuse any other. */
export const UPDATE_OPERATORS: ReadonlySet<string> = new Set([
  "$set",
  "$unset",
  "$inc",
  "$mul",
  "$push",
  "$pull",
  "$pullAll",
  "$pop",
  "$addToSet",
  "$setOnInsert",
  "$min",
  "$max",
  "$currentDate",
  "$rename",
  "$bit",
]);

/** Sort order: field to 1 (ascending) or -1 (descending), applied in key order. */
export type Sort = Record<string, 1 | -1>;

/** Inclusion (`1`) or exclusion (`0`) projection, as MongoDB accepts it. */
export type Projection = Record<string, 0 | 1>;

export interface FindOptions {
  readonly sort?: Sort;
  readonly skip?: number;
  readonly limit?: number;
  readonly projection?: Projection;
}

export interface UpdateOptions {
  /** Insert a document built from the filter's equalities and the update when none matches. */
  readonly upsert?: boolean;
}

export interface FindOneAndUpdateOptions extends UpdateOptions {
  /** Which version to return; defaults to "after" (MongoDB's driver defaults to "before"). */
  readonly returnDocument?: "before" | "after";
  readonly sort?: Sort;
  readonly projection?: Projection;
}

export interface UpdateResult {
  readonly matchedCount: number;
  readonly modifiedCount: number;
  readonly upsertedId: string | null;
}

export interface IndexSpec {
  /** Fields in order; `1`/`-1` for ordered indexes, `"text"` for a text index. */
  readonly key: Record<string, 1 | -1 | "text">;
  readonly unique?: boolean;
  /** Leave documents that lack the indexed fields out of the index (and out of uniqueness). */
  readonly sparse?: boolean;
  readonly name?: string;
}

/**
 * One collection. Documents returned are copies: changing them never changes the store.
 * A write's promise resolves only once the write is durable (it survives `kill -9`).
 */
export interface Collection<T extends Doc = Doc> {
  readonly name: string;
  findOne(filter: Filter, options?: FindOptions): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  countDocuments(filter?: Filter): Promise<number>;
  /** Throws DuplicateKeyError when `_id` or a unique index collides; nothing is written then. */
  insertOne(doc: T): Promise<void>;
  /** Ordered insert: stops at the first failure, as MongoDB's ordered insertMany does. */
  insertMany(docs: readonly T[]): Promise<void>;
  updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult>;
  findOneAndUpdate(
    filter: Filter,
    update: Update,
    options?: FindOneAndUpdateOptions,
  ): Promise<T | null>;
  /** Resolves to the number of documents removed (0 or 1). */
  deleteOne(filter: Filter): Promise<number>;
  /** Resolves to the number of documents removed. */
  deleteMany(filter: Filter): Promise<number>;
  /** Idempotent: creating an index that exists with the same key does nothing. */
  createIndex(spec: IndexSpec): Promise<void>;
}

/** A database: a set of named collections on one engine. */
export interface Store {
  readonly engine: "embedded" | "mongodb";
  collection<T extends Doc = Doc>(name: string): Collection<T>;
  /** Named blobs beside the documents: files on disk, or GridFS on MongoDB. */
  readonly files: FileStorage;
  /** Flushes and releases the engine; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** A write collided with `_id` or a unique index. Mirrors MongoDB's E11000 error. */
export class DuplicateKeyError extends Error {
  override readonly name = "DuplicateKeyError";
  readonly code = 11000;

  constructor(
    readonly collection: string,
    readonly keyValue: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(`Duplicate key in ${collection}: ${JSON.stringify(keyValue)}`, options);
  }
}

/** A filter or update that the engine refuses (unknown operator, bad shape). */
export class InvalidQueryError extends Error {
  override readonly name = "InvalidQueryError";
  readonly code = "invalid-query";
}
