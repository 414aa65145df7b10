/**
 * In-memory indexes of the embedded engine. An ordered index keeps, per value of its first
 * field, an array of entries sorted by the remaining fields (with their directions), so an
 * equality on the leading fields yields a contiguous, already-sorted range. Array values
 * are indexed per element (multikey). A text index keeps an inverted token map.
 */
import type { Doc, IndexSpec } from "./types.ts";
import { compareValues, encodeKey, valuesAtPath } from "./embedded-values.ts";

/** One index entry: a document id and its key values for the fields after the first. */
export interface IndexEntry {
  readonly id: string;
  readonly rest: readonly unknown[];
}

/** Bounds on one field, as taken from `$gt/$gte/$lt/$lte` in a filter. */
export interface RangeBounds {
  readonly gt?: unknown;
  readonly gte?: unknown;
  readonly lt?: unknown;
  readonly lte?: unknown;
}

/** A slice `[start, end)` of one bucket, in index order. */
export interface IndexRange {
  readonly entries: readonly IndexEntry[];
  readonly start: number;
  readonly end: number;
}

/** The MongoDB-style default name of an index, e.g. `rid_1_ts_-1` or `msg_text`. */
export function defaultIndexName(key: IndexSpec["key"]): string {
  return Object.entries(key)
    .map(([f, d]) => `${f}_${d}`)
    .join("_");
}

// Upper bound on the key tuples one document may contribute (cartesian product of arrays).
const MAX_TUPLES = 10_000;

/**
 * An ordered (optionally unique and/or sparse) index over one or more dotted paths.
 * Constructed from a spec whose key values are all 1 or -1.
 */
export class OrderedIndex {
  readonly name: string;
  readonly fields: readonly string[];
  /**
   * Per field, the direction entries are kept in: the declared ones, flipped as a whole when
   * the second field is descending, so that `{rid: 1, ts: -1}` appends new messages at the
   * end of a room's array instead of shifting it. A reversed walk yields the declared order.
   */
  readonly order: readonly (1 | -1)[];
  readonly unique: boolean;
  readonly sparse: boolean;
  /** Per field: whether any document ever had an array there (never reset). */
  readonly multikey: boolean[];
  private readonly buckets = new Map<string, IndexEntry[]>();
  private readonly owners = new Map<string, string>();

  constructor(readonly spec: IndexSpec) {
    this.name = spec.name ?? defaultIndexName(spec.key);
    this.fields = Object.keys(spec.key);
    const dirs = Object.values(spec.key).map((d) => (d === -1 ? -1 : 1));
    this.order = dirs.map((d) => (d * (dirs[1] ?? 1)) as 1 | -1);
    this.unique = spec.unique === true;
    this.sparse = spec.sparse === true;
    this.multikey = this.fields.map(() => false);
  }

  /** The distinct key tuples of `doc`, or [] when a sparse index leaves it out. */
  tuples(doc: Doc): unknown[][] {
    return this.keys(doc).tuples;
  }

  private keys(doc: Doc): { tuples: unknown[][]; multikey: boolean[] } {
    const perField = this.fields.map((f) => valuesAtPath(doc, f));
    const multikey = perField.map((p) => p.multikey);
    if (this.sparse && perField.every((p) => p.values.every((v) => v === undefined)))
      return { tuples: [], multikey };
    let tuples: unknown[][] = [[]];
    for (const p of perField) {
      const next: unknown[][] = [];
      for (const t of tuples) for (const v of p.values) next.push([...t, v]);
      if (next.length > MAX_TUPLES) break;
      tuples = next;
    }
    if (tuples.length === 1) return { tuples, multikey };
    const seen = new Set<string>();
    tuples = tuples.filter((t) => {
      const k = tupleKey(t);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    return { tuples, multikey };
  }

  /** The unique-constraint keys of `doc` (encoded tuples), deduplicated. */
  uniqueKeys(doc: Doc): string[] {
    return this.tuples(doc).map(tupleKey);
  }

  /** The id of the document holding unique key `key`, if any. */
  ownerOf(key: string): string | undefined {
    return this.owners.get(key);
  }

  /** Adds `doc`'s entries; the caller has already checked uniqueness. */
  add(doc: Doc): void {
    const { tuples, multikey } = this.keys(doc);
    multikey.forEach((m, i) => m && (this.multikey[i] = true));
    for (const t of tuples) {
      if (this.unique) this.owners.set(tupleKey(t), doc._id);
      const bucketKey = encodeKey(t[0]);
      let bucket = this.buckets.get(bucketKey);
      if (!bucket) this.buckets.set(bucketKey, (bucket = []));
      const entry: IndexEntry = { id: doc._id, rest: t.slice(1) };
      bucket.splice(this.search(bucket, entry), 0, entry);
    }
  }

  /** Removes the entries `doc` (the version that was added) contributed. */
  remove(doc: Doc): void {
    for (const t of this.tuples(doc)) {
      if (this.unique && this.owners.get(tupleKey(t)) === doc._id) this.owners.delete(tupleKey(t));
      const bucketKey = encodeKey(t[0]);
      const bucket = this.buckets.get(bucketKey);
      if (!bucket) continue;
      const entry: IndexEntry = { id: doc._id, rest: t.slice(1) };
      const at = this.search(bucket, entry);
      if (
        at < bucket.length &&
        bucket[at]!.id === doc._id &&
        this.compare(bucket[at]!, entry) === 0
      ) {
        bucket.splice(at, 1);
        if (bucket.length === 0) this.buckets.delete(bucketKey);
      }
    }
  }

  /**
   * The range of entries whose first field equals `values[0]`, whose next fields equal
   * `values[1..]`, and (optionally) whose following field lies within `bounds`.
   * The range may hold more than the bounds admit (cross-type values); callers re-check.
   */
  range(values: readonly unknown[], bounds?: RangeBounds): IndexRange {
    const entries = this.buckets.get(encodeKey(values[0])) ?? [];
    const eq = values.slice(1);
    const prefixCmp = (e: IndexEntry): number => {
      for (let i = 0; i < eq.length; i++) {
        const c = compareValues(e.rest[i], eq[i]) * this.order[i + 1]!;
        if (c !== 0) return c;
      }
      return 0;
    };
    let start = partition(entries, 0, entries.length, (e) => prefixCmp(e) >= 0);
    let end = partition(entries, start, entries.length, (e) => prefixCmp(e) > 0);
    const at = eq.length;
    if (bounds && at < this.order.length - 1) {
      const dir = this.order[at + 1]!;
      const v = (e: IndexEntry) => e.rest[at];
      const low = (e: IndexEntry) =>
        bounds.gt !== undefined
          ? compareValues(v(e), bounds.gt) > 0
          : compareValues(v(e), bounds.gte) >= 0;
      const high = (e: IndexEntry) =>
        bounds.lt !== undefined
          ? compareValues(v(e), bounds.lt) < 0
          : compareValues(v(e), bounds.lte) <= 0;
      const hasLow = bounds.gt !== undefined || bounds.gte !== undefined;
      const hasHigh = bounds.lt !== undefined || bounds.lte !== undefined;
      // Ascending fields grow along the range, descending ones shrink: flip the predicates.
      if (dir === 1) {
        if (hasLow) start = partition(entries, start, end, low);
        if (hasHigh) end = partition(entries, start, end, (e) => !high(e));
      } else {
        if (hasHigh) start = partition(entries, start, end, high);
        if (hasLow) end = partition(entries, start, end, (e) => !low(e));
      }
    }
    return { entries, start, end };
  }

  private compare(a: IndexEntry, b: IndexEntry): number {
    for (let i = 0; i < a.rest.length; i++) {
      const c = compareValues(a.rest[i], b.rest[i]) * this.order[i + 1]!;
      if (c !== 0) return c;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  private search(bucket: readonly IndexEntry[], entry: IndexEntry): number {
    return partition(bucket, 0, bucket.length, (e) => this.compare(e, entry) >= 0);
  }
}

/** The equality key of a tuple of index values (see encodeKey). */
export function tupleKey(tuple: readonly unknown[]): string {
  return tuple.length === 1 ? encodeKey(tuple[0]) : JSON.stringify(tuple.map(encodeKey));
}

/** The first index in `[lo, hi)` where the monotone predicate `pred` turns true (or hi). */
function partition<E>(arr: readonly E[], lo: number, hi: number, pred: (e: E) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(arr[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Lowercased, diacritic-free words of `text` (letters and digits). MongoDB additionally
 * stems words and drops stop words; this tokenizer does neither.
 */
export function tokenize(text: string): string[] {
  return text
    .normalize("NFD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

/** A text index: an inverted map from token to the ids of documents containing it. */
export class TextIndex {
  readonly name: string;
  readonly fields: readonly string[];
  private readonly postings = new Map<string, Set<string>>();

  constructor(readonly spec: IndexSpec) {
    this.name = spec.name ?? defaultIndexName(spec.key);
    this.fields = Object.keys(spec.key);
  }

  /** The distinct tokens of the indexed string fields of `doc`. */
  tokensOf(doc: Doc): Set<string> {
    const out = new Set<string>();
    for (const text of this.textsOf(doc)) for (const t of tokenize(text)) out.add(t);
    return out;
  }

  /** The indexed string values of `doc` (for phrase matching). */
  textsOf(doc: Doc): string[] {
    return this.fields.flatMap((f) =>
      valuesAtPath(doc, f).values.filter((v): v is string => typeof v === "string"),
    );
  }

  /** Adds `doc`'s tokens. */
  add(doc: Doc): void {
    for (const t of this.tokensOf(doc)) {
      let ids = this.postings.get(t);
      if (!ids) this.postings.set(t, (ids = new Set()));
      ids.add(doc._id);
    }
  }

  /** Removes the tokens `doc` (the version that was added) contributed. */
  remove(doc: Doc): void {
    for (const t of this.tokensOf(doc)) {
      const ids = this.postings.get(t);
      ids?.delete(doc._id);
      if (ids?.size === 0) this.postings.delete(t);
    }
  }

  /** Ids of documents containing every token in `tokens` (smallest posting list first). */
  idsWithAll(tokens: readonly string[]): string[] {
    const lists = tokens.map((t) => this.postings.get(t) ?? new Set<string>());
    lists.sort((a, b) => a.size - b.size);
    const [first, ...others] = lists;
    if (!first) return [];
    return [...first].filter((id) => others.every((s) => s.has(id)));
  }
}
