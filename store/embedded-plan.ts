/**
 * Query planning and execution for the embedded engine. Candidates come, in this order of
 * preference, from: `_id` equality (direct map lookups), the text index for `$text`, the
 * cheapest ordered index whose leading fields the filter pins by equality, or a full scan.
 * Every candidate is re-checked against the whole filter, so an index only narrows.
 */
import type { Doc, Filter, Sort } from "./types.ts";
import type { OrderedIndex, RangeBounds, TextIndex } from "./embedded-index.ts";
import {
  extractConstraints,
  sortDocs,
  type CompiledFilter,
  type Constraints,
} from "./embedded-query.ts";

/** The indexes of one collection, besides the implicit `_id_`. */
export interface IndexSet {
  readonly ordered: readonly OrderedIndex[];
  readonly text: TextIndex | null;
}

/** Sort and window of a query. `limit` 0 or absent means no limit, as in MongoDB. */
export interface QueryWindow {
  readonly sort?: Sort;
  readonly skip?: number;
  readonly limit?: number;
}

/** Matching documents (store-owned references: copy before handing out) and plan facts. */
export interface QueryResult {
  readonly docs: Doc[];
  /** Name of the index candidates came from, or null for a full collection scan. */
  readonly index: string | null;
  /** How many documents were examined against the filter. */
  readonly scanned: number;
}

interface Choice {
  readonly index: OrderedIndex;
  readonly combos: unknown[][];
  readonly bounds: RangeBounds | undefined;
  readonly ordered: boolean;
  readonly reverse: boolean;
  readonly cost: number;
  readonly pinned: number;
}

// Beyond this many equality combinations ($in on several fields) an index is not used.
const MAX_COMBOS = 256;

function product(lists: unknown[][]): unknown[][] {
  let out: unknown[][] = [[]];
  for (const list of lists) out = out.flatMap((t) => list.map((v) => [...t, v]));
  return out;
}

function consider(index: OrderedIndex, c: Constraints, sort: Sort, want: number): Choice | null {
  const lists: unknown[][] = [];
  for (const f of index.fields) {
    const vals = c.eq.get(f);
    if (!vals) break;
    lists.push(vals);
  }
  const p = lists.length;
  if (p === 0 || lists.reduce((n, l) => n * l.length, 1) > MAX_COMBOS) return null;
  const combos = product(lists);
  const next = index.fields[p];
  const bounds = next !== undefined && !index.multikey[p] ? c.ranges.get(next) : undefined;
  let estimate = 0;
  for (const combo of combos) {
    const r = index.range(combo, bounds);
    estimate += r.end - r.start;
  }
  // Sort keys on fields pinned to one value are constant; the rest must follow the index.
  const pinned = new Set(index.fields.slice(0, p).filter((_f, i) => lists[i]!.length === 1));
  const keys = Object.entries(sort).filter(([k]) => !pinned.has(k));
  let ordered = keys.length === 0;
  let reverse = false;
  if (!ordered && combos.length === 1 && keys.length <= index.fields.length - p) {
    const sign = keys[0]![1] * index.order[p]!;
    ordered = keys.every(
      ([k, d], j) =>
        index.fields[p + j] === k && !index.multikey[p + j] && d === sign * index.order[p + j]!,
    );
    reverse = sign === -1;
  }
  const cost = ordered ? Math.min(estimate, want) : estimate * 2;
  return { index, combos, bounds, ordered, reverse, cost, pinned: p };
}

function* fromIndex(choice: Choice, docs: Map<string, Doc>): Generator<Doc> {
  const dedupe = choice.combos.length > 1 || choice.index.multikey.some(Boolean);
  const seen = new Set<string>();
  for (const combo of choice.combos) {
    const { entries, start, end } = choice.index.range(combo, choice.bounds);
    for (let n = 0; n < end - start; n++) {
      const id = entries[choice.reverse ? end - 1 - n : start + n]!.id;
      if (dedupe) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      const doc = docs.get(id);
      if (doc) yield doc;
    }
  }
}

function* byIds(ids: Iterable<unknown>, docs: Map<string, Doc>): Generator<Doc> {
  for (const id of new Set(ids)) {
    const doc = docs.get(id as string);
    if (doc) yield doc;
  }
}

/**
 * Runs `compiled` (compiled from `filter`) over `docs` with `indexes`, applying sort, skip
 * and limit. Returns store-owned documents plus the index used and the count examined.
 */
export function runQuery(
  docs: Map<string, Doc>,
  indexes: IndexSet,
  compiled: CompiledFilter,
  window: QueryWindow = {},
): QueryResult {
  const sort = window.sort ?? {};
  const skip = Math.max(0, window.skip ?? 0);
  const limit = window.limit && window.limit > 0 ? window.limit : Infinity;
  const c = extractConstraints(compiled.rest as Filter);
  let source: Iterable<Doc> = docs.values();
  let index: string | null = null;
  let ordered = Object.keys(sort).length === 0;
  const ids = c.eq.get("_id");
  if (ids && ids.every((id) => typeof id === "string")) {
    source = byIds(ids, docs);
    index = "_id_";
  } else if (compiled.text && indexes.text) {
    const tokens = [...compiled.text.words, ...compiled.text.phrases.flatMap((p) => p.split(" "))];
    source = byIds(tokens.length > 0 ? indexes.text.idsWithAll(tokens) : [], docs);
    index = indexes.text.name;
  } else {
    let best: Choice | null = null;
    for (const ix of indexes.ordered) {
      const choice = consider(ix, c, sort, skip + limit);
      if (
        choice &&
        (!best ||
          choice.cost < best.cost ||
          (choice.cost === best.cost && choice.pinned > best.pinned))
      ) {
        best = choice;
      }
    }
    if (best) {
      source = fromIndex(best, docs);
      index = best.index.name;
      ordered = best.ordered;
    }
  }
  let scanned = 0;
  const matched: Doc[] = [];
  for (const doc of source) {
    scanned++;
    if (!compiled.test(doc)) continue;
    matched.push(doc);
    if (ordered && matched.length >= skip + limit) break;
  }
  if (!ordered) sortDocs(matched, sort);
  return { docs: matched.slice(skip, skip + limit), index, scanned };
}
