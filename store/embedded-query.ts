/**
 * Query and update semantics of the embedded engine, delegated to mingo (MongoDB's query
 * and update language in JS) plus what mingo lacks: `$text`, `$setOnInsert`, upsert seeds,
 * MongoDB's type errors on updates, and the constraint extraction the planner needs.
 */
import { Query, update as mingoUpdate } from "mingo";
import {
  InvalidQueryError,
  type Doc,
  type Filter,
  type Projection,
  type Sort,
  type Update,
  UPDATE_OPERATORS,
} from "./types.ts";
import { applySimpleUpdate, stringEqualityTest } from "./embedded-fast.ts";
import type { RangeBounds, TextIndex } from "./embedded-index.ts";
import { tokenize } from "./embedded-index.ts";
import {
  compareValues,
  copyStored,
  encodeKey,
  isPlainObject,
  normalizeDoc,
  sortValue,
} from "./embedded-values.ts";

const MINGO_OPTIONS = { scriptEnabled: false };

/** Runs `fn`, turning anything it throws (mingo's assertion errors) into InvalidQueryError. */
export function guard<R>(fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidQueryError) throw err;
    throw new InvalidQueryError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** A parsed `$text: { $search }`: all words required, quoted phrases, `-word` exclusions. */
export interface TextSearch {
  readonly words: readonly string[];
  readonly phrases: readonly string[];
  readonly excluded: readonly string[];
}

/** A filter compiled once per operation. */
export interface CompiledFilter {
  /** The filter without `$text`, as mingo evaluates it (also used for positional `$`). */
  readonly rest: Filter;
  readonly text: TextSearch | null;
  test(doc: Doc): boolean;
}

function parseTextSearch(spec: unknown): TextSearch {
  if (!isPlainObject(spec) || typeof spec.$search !== "string") {
    throw new InvalidQueryError("$text needs { $search: string }");
  }
  const phrases: string[] = [];
  const unquoted = spec.$search.replace(/"([^"]*)"/g, (_m, p: string) => {
    const words = tokenize(p);
    if (words.length > 0) phrases.push(words.join(" "));
    return " ";
  });
  const words: string[] = [];
  const excluded: string[] = [];
  for (const raw of unquoted.split(/\s+/)) {
    if (raw.startsWith("-")) excluded.push(...tokenize(raw.slice(1)));
    else words.push(...tokenize(raw));
  }
  return { words, phrases, excluded };
}

/**
 * Compiles `filter`. `$text` is accepted at the top level or in a top-level `$and` and
 * needs `textIndex`. Unlike MongoDB (any word, stemmed, ranked), every word must occur.
 * Throws InvalidQueryError for unknown operators, `$where`, or `$text` without a text index.
 */
export function compileFilter(filter: Filter, textIndex: TextIndex | null): CompiledFilter {
  if (!isPlainObject(filter)) throw new InvalidQueryError("A filter must be a plain object");
  let textSpec: unknown;
  const rest: Filter = {};
  for (const [k, v] of Object.entries(filter)) {
    if (k === "$text") textSpec = v;
    else if (k === "$and" && Array.isArray(v)) {
      const kept = v.filter(
        (c) => !(isPlainObject(c) && "$text" in c && Object.keys(c).length === 1),
      );
      const found = v.find((c) => isPlainObject(c) && "$text" in c && Object.keys(c).length === 1);
      if (found) textSpec = (found as Record<string, unknown>).$text;
      if (kept.length > 0) rest[k] = kept;
    } else rest[k] = v;
  }
  if (textSpec === undefined) {
    const fast = stringEqualityTest(rest);
    if (fast) return { rest, text: null, test: fast };
  }
  const query = guard(() => new Query(rest, MINGO_OPTIONS));
  if (textSpec === undefined)
    return { rest, text: null, test: (doc) => guard(() => query.test(doc)) };
  if (!textIndex) throw new InvalidQueryError("$text needs a text index on the collection");
  const text = parseTextSearch(textSpec);
  const index = textIndex;
  const test = (doc: Doc): boolean => {
    if (text.words.length === 0 && text.phrases.length === 0) return false;
    const tokens = index.tokensOf(doc);
    if (!text.words.every((w) => tokens.has(w)) || text.excluded.some((w) => tokens.has(w)))
      return false;
    const texts = index.textsOf(doc).map((s) => tokenize(s).join(" "));
    if (!text.phrases.every((p) => texts.some((s) => ` ${s} `.includes(` ${p} `)))) return false;
    return guard(() => query.test(doc));
  };
  return { rest, text, test };
}

function isIndexable(v: unknown): boolean {
  return (
    typeof v === "string" ||
    typeof v === "boolean" ||
    (typeof v === "number" && !Number.isNaN(v)) ||
    v instanceof Date
  );
}

function isOperatorObject(v: unknown): v is Record<string, unknown> {
  return isPlainObject(v) && Object.keys(v).length > 0 && Object.keys(v)[0]!.startsWith("$");
}

/** What the planner can use: equality value sets and range bounds per dotted path. */
export interface Constraints {
  readonly eq: Map<string, unknown[]>;
  readonly ranges: Map<string, RangeBounds>;
}

/**
 * Equalities (`field: v`, `{$eq: v}`, `{$in: [...]}`) and ranges (`$gt/$gte/$lt/$lte`) on
 * scalar values, from the top level and top-level `$and`. Every document the filter matches
 * satisfies each returned constraint, so an index lookup built from them misses nothing.
 */
export function extractConstraints(
  filter: Filter,
  out: Constraints = { eq: new Map(), ranges: new Map() },
): Constraints {
  const setEq = (k: string, vals: unknown[]) => {
    const prev = out.eq.get(k);
    if (!prev || vals.length < prev.length) out.eq.set(k, vals);
  };
  for (const [k, v] of Object.entries(filter)) {
    if (k === "$and" && Array.isArray(v)) {
      for (const c of v) if (isPlainObject(c)) extractConstraints(c, out);
      continue;
    }
    if (k.startsWith("$")) continue;
    if (!isOperatorObject(v)) {
      if (isIndexable(v)) setEq(k, [v]);
      continue;
    }
    if ("$eq" in v && isIndexable(v.$eq)) setEq(k, [v.$eq]);
    if (Array.isArray(v.$in) && v.$in.length > 0 && v.$in.every(isIndexable)) setEq(k, v.$in);
    const bounds: { gt?: unknown; gte?: unknown; lt?: unknown; lte?: unknown } = {
      ...out.ranges.get(k),
    };
    for (const op of ["gt", "gte", "lt", "lte"] as const) {
      if (isIndexable(v[`$${op}`])) bounds[op] = v[`$${op}`];
    }
    if (Object.keys(bounds).length > 0) out.ranges.set(k, bounds);
  }
  return out;
}

/** A validated update: the operators mingo applies, and `$setOnInsert` kept apart. */
export interface ParsedUpdate {
  readonly mod: Record<string, Record<string, unknown>>;
  readonly setOnInsert: Record<string, unknown> | null;
}

/**
 * Checks that `update` is a non-empty document of known update operators, each with an
 * object operand, and that no two operators touch conflicting paths.
 * Throws InvalidQueryError otherwise (replacement documents are refused).
 */
export function parseUpdate(update: Update): ParsedUpdate {
  if (!isPlainObject(update) || Object.keys(update).length === 0) {
    throw new InvalidQueryError("An update must be a non-empty document of update operators");
  }
  const mod: Record<string, Record<string, unknown>> = {};
  let setOnInsert: Record<string, unknown> | null = null;
  const paths: string[] = [];
  for (const [op, operand] of Object.entries(update)) {
    if (!UPDATE_OPERATORS.has(op)) throw new InvalidQueryError(`Unknown update operator '${op}'`);
    if (!isPlainObject(operand))
      throw new InvalidQueryError(`The operand of ${op} must be a document`);
    paths.push(...Object.keys(operand));
    if (op === "$rename") paths.push(...Object.values(operand).map(String));
    if (op === "$setOnInsert") setOnInsert = nullForUndefined(operand);
    else if (op === "$addToSet") mod[op] = dedupeEach(operand);
    else if (op === "$set") mod[op] = nullForUndefined(operand);
    else mod[op] = operand;
  }
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      const [a, b] = [paths[i]!, paths[j]!];
      if (a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`)) {
        throw new InvalidQueryError(`Updating the path '${a}' would create a conflict at '${b}'`);
      }
    }
  }
  return { mod, setOnInsert };
}

// The driver sends `undefined` as null; mingo would skip the field instead.
function nullForUndefined(operand: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(operand).map(([k, v]) => [k, v === undefined ? null : v]),
  );
}

// MongoDB adds each distinct `$each` value once; mingo would add repeats to a missing array.
function dedupeEach(operand: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, v] of Object.entries(operand)) {
    if (isPlainObject(v) && Array.isArray(v.$each)) {
      const seen = new Set<string>();
      out[path] = {
        ...v,
        $each: v.$each.filter((e) => !seen.has(encodeKey(e)) && !!seen.add(encodeKey(e))),
      };
    } else out[path] = v;
  }
  return out;
}

const NUMERIC_OPS = new Set(["$inc", "$mul"]);
const ARRAY_OPS = new Set(["$push", "$addToSet", "$pull", "$pullAll", "$pop"]);
const CREATING_OPS = new Set([
  "$set",
  "$inc",
  "$mul",
  "$push",
  "$addToSet",
  "$min",
  "$max",
  "$currentDate",
  "$bit",
]);

// MongoDB refuses what mingo silently skips: $inc on a string, $push to a non-array,
// creating a field inside a scalar.
function checkTargets(doc: Doc, mod: ParsedUpdate["mod"]): void {
  for (const [op, operand] of Object.entries(mod)) {
    for (const path of Object.keys(operand)) {
      if (path.includes("$")) continue;
      const segs = path.split(".");
      let cur: unknown = doc;
      for (let i = 0; i < segs.length && cur !== undefined; i++) {
        const seg = segs[i]!;
        if (Array.isArray(cur) && /^\d+$/.test(seg)) cur = cur[Number(seg)];
        else if (isPlainObject(cur)) cur = cur[seg];
        else if (CREATING_OPS.has(op)) {
          throw new InvalidQueryError(
            `${op}: cannot create field '${seg}' in '${segs.slice(0, i).join(".")}'`,
          );
        } else cur = undefined;
      }
      if (cur === undefined) continue;
      if (NUMERIC_OPS.has(op) && typeof cur !== "number")
        throw new InvalidQueryError(`${op} on non-numeric field '${path}'`);
      if (ARRAY_OPS.has(op) && !Array.isArray(cur))
        throw new InvalidQueryError(`${op} on non-array field '${path}'`);
    }
  }
}

/**
 * `mod` with each positional `$` segment replaced by the index it stands for in `doc`:
 * the first element of the array before it that matches every condition `condition` puts
 * on that array (dotted paths into it, the array itself, `$elemMatch`), as MongoDB
 * resolves it. mingo resolves `$` only on top-level arrays and only once per update.
 * Throws MongoDB's error when the filter does not select an element of that array.
 */
function resolvePositional(
  doc: Doc,
  mod: ParsedUpdate["mod"],
  condition: Filter,
): ParsedUpdate["mod"] {
  const resolved = new Map<string, number>();
  const indexFor = (arrayPath: string): number => {
    const known = resolved.get(arrayPath);
    if (known !== undefined) return known;
    const array = valueAt(doc, arrayPath);
    const onArray = elementConditions(condition, arrayPath);
    const index =
      Array.isArray(array) && onArray !== null
        ? array.findIndex((element) => onArray.test({ v: [element] }))
        : -1;
    if (index < 0) {
      throw new InvalidQueryError(
        "The positional operator did not find the match needed from the query.",
      );
    }
    resolved.set(arrayPath, index);
    return index;
  };
  const rewrite = (path: string): string => {
    const segments = path.split(".");
    const at = segments.indexOf("$");
    if (at < 0) return path;
    segments[at] = String(indexFor(segments.slice(0, at).join(".")));
    return segments.join(".");
  };
  const out: Record<string, Record<string, unknown>> = {};
  for (const [op, operand] of Object.entries(mod)) {
    out[op] = Object.fromEntries(
      Object.entries(operand).map(([path, value]) => [
        rewrite(path),
        op === "$rename" && typeof value === "string" ? rewrite(value) : value,
      ]),
    );
  }
  return out;
}

/** The value at dotted `path` of `doc`, through objects and numeric array indexes. */
function valueAt(doc: Doc, path: string): unknown {
  let current: unknown = doc;
  for (const segment of path.split(".")) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (isPlainObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/**
 * The conditions `filter` (and its top-level `$and`) puts on the elements of the array at
 * `arrayPath`, as a query over `{v: [element]}`; null when it puts none.
 */
function elementConditions(filter: Filter, arrayPath: string): Query | null {
  const parts: Record<string, unknown>[] = [];
  const gather = (f: Filter) => {
    for (const [key, value] of Object.entries(f)) {
      if (key === "$and" && Array.isArray(value)) {
        for (const clause of value) if (isPlainObject(clause)) gather(clause as Filter);
      } else if (key === arrayPath) {
        parts.push({ v: value });
      } else if (key.startsWith(`${arrayPath}.`)) {
        parts.push({ [`v.${key.slice(arrayPath.length + 1)}`]: value });
      }
    }
  };
  gather(filter);
  if (parts.length === 0) return null;
  return guard(() => new Query({ $and: parts }, MINGO_OPTIONS));
}

/**
 * Applies `parsed` to a copy of `doc`. `condition` is the matched filter (for positional
 * `$`). Returns the normalized new document and whether anything changed.
 * Throws InvalidQueryError for updates MongoDB refuses.
 */
export function applyUpdate(
  doc: Doc,
  parsed: ParsedUpdate,
  condition: Filter,
): { doc: Doc; modified: boolean } {
  const mod = resolvePositional(doc, parsed.mod, condition);
  checkTargets(doc, mod);
  if (Object.keys(mod).length === 0) return { doc, modified: false };
  const work = copyStored(doc);
  const modified =
    applySimpleUpdate(work, mod) ??
    guard(() => mingoUpdate(work, mod, undefined, condition, { cloneMode: "deep" })).length > 0;
  if (!modified) return { doc, modified: false };
  return { doc: normalizeDoc(work), modified: true };
}

/**
 * The document an upsert inserts: the filter's equalities (top level, dotted, `$eq`,
 * top-level `$and`), then the update, then `$setOnInsert`. `_id` is left for the caller
 * to generate when absent. Throws InvalidQueryError for updates MongoDB refuses.
 */
export function buildUpsertDoc(filter: Filter, parsed: ParsedUpdate): Record<string, unknown> {
  const seed: Record<string, unknown> = {};
  const sets: Record<string, unknown> = {};
  const gather = (f: Filter) => {
    for (const [k, v] of Object.entries(f)) {
      if (k === "$and" && Array.isArray(v)) v.forEach((c) => isPlainObject(c) && gather(c));
      if (k.startsWith("$") || v instanceof RegExp) continue;
      if (isOperatorObject(v)) {
        if ("$eq" in v) sets[k] = v.$eq;
      } else sets[k] = v;
    }
  };
  gather(filter);
  if ("_id" in sets) seed._id = sets._id;
  delete sets._id;
  const apply = (mod: Record<string, unknown>) => {
    checkTargets(seed as Doc, mod as ParsedUpdate["mod"]);
    guard(() => mingoUpdate(seed, mod, undefined, {}, { cloneMode: "deep" }));
  };
  if (Object.keys(sets).length > 0) apply({ $set: sets });
  if (Object.keys(parsed.mod).length > 0) apply(parsed.mod);
  if (parsed.setOnInsert && Object.keys(parsed.setOnInsert).length > 0) {
    // MongoDB lets $setOnInsert choose the new document's _id; mingo would call that
    // modifying an immutable field, so the id goes into the seed directly.
    const { _id, ...rest } = parsed.setOnInsert;
    if (_id !== undefined && !("_id" in seed)) seed._id = _id;
    if (Object.keys(rest).length > 0) apply({ $set: rest });
  }
  return seed;
}

/** Sorts `docs` in place by `sort` (MongoDB order across types; arrays by min/max). */
export function sortDocs(docs: Doc[], sort: Sort): Doc[] {
  const keys = Object.entries(sort);
  if (keys.length === 0) return docs;
  const decorated = docs.map((doc) => ({
    doc,
    k: keys.map(([path, dir]) => sortValue(doc, path, dir)),
  }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const c = compareValues(a.k[i], b.k[i]) * keys[i]![1];
      if (c !== 0) return c;
    }
    return 0;
  });
  decorated.forEach((d, i) => (docs[i] = d.doc));
  return docs;
}

/** Applies a MongoDB projection; returns new top-level objects (nested ones may be shared). */
export function projectDocs(docs: Doc[], projection: Projection | undefined): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs;
  return guard(() => new Query({}, MINGO_OPTIONS).find(docs, projection).all() as Doc[]);
}
