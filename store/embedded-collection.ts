/**
 * One collection of the embedded engine. Documents live in a Map by `_id`; every write is
 * validated and computed on copies first, then applied to memory and the indexes at once
 * (so a failed write changes nothing and a following read sees a successful one), then
 * queued for SQLite; the returned promise settles when that group commit has committed.
 */
import {
  DuplicateKeyError,
  InvalidQueryError,
  type Collection,
  type Doc,
  type Filter,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexSpec,
  type Update,
  type UpdateOptions,
  type UpdateResult,
} from "./types.ts";
import { OrderedIndex, TextIndex, defaultIndexName, tupleKey } from "./embedded-index.ts";
import { runQuery, type IndexSet } from "./embedded-plan.ts";
import {
  applyUpdate,
  buildUpsertDoc,
  compileFilter,
  parseUpdate,
  projectDocs,
  type ParsedUpdate,
} from "./embedded-query.ts";
import type { SqliteStorage } from "./embedded-sqlite.ts";
import { copyStored, encodeKey, newId, normalizeDoc } from "./embedded-values.ts";

/** What a query would do: the index candidates come from (null: full scan) and docs examined. */
export interface Explain {
  readonly index: string | null;
  readonly scanned: number;
}

interface Change {
  readonly before: Doc | null;
  readonly after: Doc | null;
}

const NO_MATCH: UpdateResult = { matchedCount: 0, modifiedCount: 0, upsertedId: null };

/** An embedded collection; obtain it from EmbeddedStore.collection(). */
export class EmbeddedCollection<T extends Doc = Doc> implements Collection<T> {
  private readonly docs = new Map<string, Doc>();
  private readonly ordered: OrderedIndex[] = [];
  private text: TextIndex | null = null;

  /** Loads collection `name` and its index definitions from `storage`. */
  constructor(
    readonly name: string,
    private readonly storage: SqliteStorage,
  ) {
    for (const doc of storage.loadDocs(name)) this.docs.set(doc._id, doc);
    for (const spec of storage.loadIndexes(name)) this.install(spec);
  }

  /**
   * Plans and runs `filter` without copying results, for tests and diagnostics.
   * Returns the index name used (`"_id_"` for `_id` lookups, null for a full scan) and how
   * many documents were examined. Throws InvalidQueryError for a bad filter.
   */
  explain(filter: Filter, options: FindOptions = {}): Explain {
    const { index, scanned } = runQuery(
      this.docs,
      this.indexes(),
      compileFilter(filter, this.text),
      options,
    );
    return { index, scanned };
  }

  /** First match of `filter` under `options` (sort/skip/projection), copied; null if none. */
  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    return this.select(filter, { ...options, limit: 1 })[0] ?? null;
  }

  /** All matches of `filter` under `options` (sort, skip, limit 0 = none, projection), copied. */
  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.select(filter, options);
  }

  /** Number of documents matching `filter` (default: all). */
  async countDocuments(filter: Filter = {}): Promise<number> {
    if (Object.keys(filter).length === 0) return this.docs.size;
    return runQuery(this.docs, this.indexes(), compileFilter(filter, this.text)).docs.length;
  }

  /** Inserts a copy of `doc` (a missing `_id` is generated); throws DuplicateKeyError on collision. */
  async insertOne(doc: T): Promise<void> {
    await this.commit([{ before: null, after: normalizeDoc(doc) }]);
  }

  /** Inserts copies in order, stopping at the first failure (which is thrown). */
  async insertMany(docs: readonly T[]): Promise<void> {
    const acks: Promise<void>[] = [];
    for (const doc of docs) {
      try {
        acks.push(this.commit([{ before: null, after: normalizeDoc(doc) }]));
      } catch (err) {
        // Ordered semantics: what was inserted before the failure stays (and is durable).
        await Promise.all(acks);
        throw err;
      }
    }
    await Promise.all(acks);
  }

  /** Applies `update` to the first match, or upserts when `options.upsert`; see UpdateResult. */
  async updateOne(
    filter: Filter,
    update: Update,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    return this.update(filter, update, options, 1);
  }

  /** Applies `update` to every match, all or nothing on the embedded engine; see UpdateResult. */
  async updateMany(
    filter: Filter,
    update: Update,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    return this.update(filter, update, options, 0);
  }

  /** Updates (or upserts) the first match under `options.sort`; returns it "after" (default) or "before". */
  async findOneAndUpdate(
    filter: Filter,
    update: Update,
    options: FindOneAndUpdateOptions = {},
  ): Promise<T | null> {
    const parsed = parseUpdate(update);
    const compiled = compileFilter(filter, this.text);
    const sort = options.sort ?? {};
    const [before] = runQuery(this.docs, this.indexes(), compiled, { sort, limit: 1 }).docs;
    let after: Doc;
    if (!before) {
      if (!options.upsert) return this.acked(null);
      after = this.upsertDoc(filter, parsed);
      await this.commit([{ before: null, after }]);
    } else {
      const next = applyUpdate(before, parsed, compiled.rest);
      after = next.doc;
      await (next.modified ? this.commit([{ before, after }]) : this.storage.barrier());
    }
    const shown = options.returnDocument === "before" ? before : after;
    return shown ? this.present([shown], options.projection)[0]! : null;
  }

  /** Removes the first match; resolves to 0 or 1. */
  async deleteOne(filter: Filter): Promise<number> {
    return this.delete(filter, 1);
  }

  /** Removes every match; resolves to how many were removed. */
  async deleteMany(filter: Filter): Promise<number> {
    return this.delete(filter, 0);
  }

  /** The indexes created on this collection (not the implicit one on `_id`), as specified. */
  indexSpecs(): IndexSpec[] {
    return [...this.ordered.map((i) => i.spec), ...(this.text ? [this.text.spec] : [])];
  }

  /** Creates the index unless one with the same key and options exists; throws DuplicateKeyError over duplicate data. */
  async createIndex(spec: IndexSpec): Promise<void> {
    const normalized = validateSpec(spec);
    const same = (s: IndexSpec) =>
      encodeKey(s.key) === encodeKey(normalized.key) &&
      !!s.unique === !!normalized.unique &&
      !!s.sparse === !!normalized.sparse;
    const existing = this.indexSpecs();
    if (Object.keys(normalized.key).join() === "_id" || existing.some(same))
      return this.acked(undefined);
    if (existing.some((s) => s.name === normalized.name)) {
      throw new InvalidQueryError(
        `An index named '${normalized.name}' exists with a different definition`,
      );
    }
    this.install(normalized);
    await this.storage.putIndex(this.name, normalized.name!, normalized);
  }

  private select(filter: Filter, options: FindOptions): T[] {
    const { docs } = runQuery(this.docs, this.indexes(), compileFilter(filter, this.text), options);
    return this.present(docs, options.projection);
  }

  // Copy before projecting: mingo may share or modify the objects it is given, and then
  // whatever it shares belongs to the private copy, never to the store.
  private present(docs: Doc[], projection: FindOptions["projection"]): T[] {
    return projectDocs(
      docs.map((d) => copyStored(d)),
      projection,
    ) as T[];
  }

  private async update(
    filter: Filter,
    update: Update,
    options: UpdateOptions,
    limit: number,
  ): Promise<UpdateResult> {
    const parsed = parseUpdate(update);
    const compiled = compileFilter(filter, this.text);
    const matched = runQuery(this.docs, this.indexes(), compiled, { limit }).docs;
    if (matched.length === 0) {
      if (!options.upsert) return this.acked(NO_MATCH);
      const after = this.upsertDoc(filter, parsed);
      await this.commit([{ before: null, after }]);
      return { matchedCount: 0, modifiedCount: 0, upsertedId: after._id };
    }
    // Compute every new version before touching anything, so a failure writes nothing.
    const changes: Change[] = [];
    for (const before of matched) {
      const next = applyUpdate(before, parsed, compiled.rest);
      if (next.modified) changes.push({ before, after: next.doc });
    }
    await this.commit(changes);
    return { matchedCount: matched.length, modifiedCount: changes.length, upsertedId: null };
  }

  private upsertDoc(filter: Filter, parsed: ParsedUpdate): Doc {
    const seed = buildUpsertDoc(filter, parsed);
    return normalizeDoc(seed._id === undefined ? { _id: newId(), ...seed } : seed);
  }

  private async delete(filter: Filter, limit: number): Promise<number> {
    const matched = runQuery(this.docs, this.indexes(), compileFilter(filter, this.text), {
      limit,
    }).docs;
    await this.commit(matched.map((before) => ({ before, after: null })));
    return matched.length;
  }

  // A write that changed nothing still waits for queued writes, so its acknowledgement
  // never precedes the durability of state it may have observed.
  private async acked<R>(result: R): Promise<R> {
    await this.storage.barrier();
    return result;
  }

  private indexes(): IndexSet {
    return { ordered: this.ordered, text: this.text };
  }

  /** Validates `changes` against `_id` and unique indexes, then applies and queues them. */
  private commit(changes: readonly Change[]): Promise<void> {
    if (this.storage.isClosed) throw new Error("The store is closed");
    if (changes.length === 0) return this.storage.barrier();
    this.checkUnique(changes);
    for (const { before } of changes) if (before) this.unindex(before);
    const acks: Promise<void>[] = [];
    for (const { before, after } of changes) {
      if (after) {
        this.docs.set(after._id, after);
        this.ordered.forEach((ix) => ix.add(after));
        this.text?.add(after);
        acks.push(this.storage.put(this.name, after));
      } else if (before) {
        this.docs.delete(before._id);
        acks.push(this.storage.delete(this.name, before._id));
      }
    }
    return Promise.all(acks).then(() => undefined);
  }

  private unindex(doc: Doc): void {
    this.ordered.forEach((ix) => ix.remove(doc));
    this.text?.remove(doc);
  }

  // Checks the changes one after another, as MongoDB applies a multi-document write: each
  // new key must be free given the changes before it and the old keys of those after it.
  private checkUnique(changes: readonly Change[]): void {
    const inserted = new Set<string>();
    for (const { before, after } of changes) {
      if (before || !after) continue;
      if (this.docs.has(after._id) || inserted.has(after._id)) {
        throw new DuplicateKeyError(this.name, { _id: after._id });
      }
      inserted.add(after._id);
    }
    for (const ix of this.ordered) {
      if (!ix.unique) continue;
      const owners = new Map<string, string | null>();
      for (const { before, after } of changes) {
        if (before) for (const key of ix.uniqueKeys(before)) owners.set(key, null);
        if (!after) continue;
        for (const tuple of ix.tuples(after)) {
          const key = tupleKey(tuple);
          const owner = owners.has(key) ? owners.get(key) : ix.ownerOf(key);
          if (owner != null && owner !== after._id) {
            throw new DuplicateKeyError(
              this.name,
              Object.fromEntries(ix.fields.map((f, i) => [f, tuple[i] ?? null])),
            );
          }
          owners.set(key, after._id);
        }
      }
    }
  }

  private install(spec: IndexSpec): void {
    if (Object.values(spec.key).includes("text")) {
      if (this.text)
        throw new InvalidQueryError(`Collection ${this.name} already has a text index`);
      const text = new TextIndex(spec);
      this.docs.forEach((d) => text.add(d));
      this.text = text;
      return;
    }
    const ix = new OrderedIndex(spec);
    const docs = [...this.docs.values()];
    // Build on a scratch pass first so a unique violation leaves no half-built index.
    this.checkBuild(ix, docs);
    docs.forEach((d) => ix.add(d));
    this.ordered.push(ix);
  }

  private checkBuild(ix: OrderedIndex, docs: readonly Doc[]): void {
    if (!ix.unique) return;
    const seen = new Map<string, string>();
    for (const doc of docs) {
      for (const tuple of ix.tuples(doc)) {
        const key = tupleKey(tuple);
        const owner = seen.get(key);
        if (owner !== undefined && owner !== doc._id) {
          throw new DuplicateKeyError(
            this.name,
            Object.fromEntries(ix.fields.map((f, i) => [f, tuple[i] ?? null])),
          );
        }
        seen.set(key, doc._id);
      }
    }
  }
}

function validateSpec(spec: IndexSpec): IndexSpec {
  const entries = Object.entries(spec.key ?? {});
  if (entries.length === 0) throw new InvalidQueryError("An index needs at least one field");
  const text = entries.filter(([, d]) => d === "text").length;
  if (
    entries.some(([, d]) => d !== 1 && d !== -1 && d !== "text") ||
    (text > 0 && text < entries.length)
  ) {
    throw new InvalidQueryError(`Unsupported index key ${JSON.stringify(spec.key)}`);
  }
  return {
    key: { ...spec.key },
    unique: spec.unique === true,
    sparse: spec.sparse === true,
    name: spec.name ?? defaultIndexName(spec.key),
  };
}
