/**
 * Fast paths of the embedded engine for the commonest filters and updates, which run
 * several times per chat message (a room's subscriptions by `rid` and `u._id`, `$set` of
 * flags, `$inc` of counters). mingo copies its whole operator tables each time a query or
 * an update is set up, which measured about a quarter of the server's CPU per message;
 * these shapes need none of it. Anything else returns null and goes to mingo, and for the
 * shapes handled here the result is the same as mingo's (test/store-fast-paths.test.ts).
 */
import { cloneDeep, isEqual } from "mingo/util";
import type { Doc, Filter } from "./types.ts";
import { isPlainObject, valuesAtPath } from "./embedded-values.ts";

/** A dotted path with no operator, empty or numeric segment: one that never indexes an array. */
function isPlainPath(path: string): boolean {
  if (path.startsWith("$")) return false;
  for (const segment of path.split(".")) {
    if (segment === "" || segment.includes("$") || /^\d+$/.test(segment)) return false;
  }
  return true;
}

function allStrings(values: unknown): values is string[] {
  return Array.isArray(values) && values.every((v) => typeof v === "string");
}

/**
 * A test for `filter` when it holds only string comparisons on plain paths (`path: "s"`,
 * `{$eq: "s"}`, `{$ne: "s"}`, `{$in: [...]}`, `{$nin: [...]}`), with MongoDB's meaning: a
 * value matches when the path reaches it directly or as an element of an array.
 * Null for any other filter.
 */
export function stringEqualityTest(filter: Filter): ((doc: Doc) => boolean) | null {
  const checks: ((doc: Doc) => boolean)[] = [];
  for (const [path, condition] of Object.entries(filter)) {
    if (!isPlainPath(path)) return null;
    const reaches = (doc: Doc, wanted: (v: unknown) => boolean) =>
      valuesAtPath(doc, path).values.some(wanted);
    if (typeof condition === "string") {
      checks.push((doc) => reaches(doc, (v) => v === condition));
      continue;
    }
    if (!isPlainObject(condition)) return null;
    const entries = Object.entries(condition);
    if (entries.length !== 1) return null;
    const [op, arg] = entries[0] as [string, unknown];
    if (op === "$eq" && typeof arg === "string") {
      checks.push((doc) => reaches(doc, (v) => v === arg));
    } else if (op === "$ne" && typeof arg === "string") {
      checks.push((doc) => !reaches(doc, (v) => v === arg));
    } else if ((op === "$in" || op === "$nin") && allStrings(arg)) {
      const set = new Set<unknown>(arg);
      const found = (doc: Doc) => reaches(doc, (v) => set.has(v));
      checks.push(op === "$in" ? found : (doc) => !found(doc));
    } else return null;
  }
  return (doc) => checks.every((check) => check(doc));
}

const SIMPLE_OPS = new Set(["$set", "$inc", "$unset"]);

/**
 * Applies `mod` to `work` in place when it holds only `$set`, `$inc` (by numbers) and
 * `$unset` on plain paths other than `_id`, through plain objects only; returns whether
 * anything changed. Returns null, having changed nothing, for any other update (arrays on
 * the way, positional paths, other operators), which mingo must apply. The caller has
 * already refused increments of non-numbers and fields created inside scalars.
 */
export function applySimpleUpdate(
  work: Doc,
  mod: Readonly<Record<string, Record<string, unknown>>>,
): boolean | null {
  const steps: { op: string; path: string[]; value: unknown }[] = [];
  for (const [op, operand] of Object.entries(mod)) {
    if (!SIMPLE_OPS.has(op)) return null;
    for (const [path, value] of Object.entries(operand)) {
      if (!isPlainPath(path) || path === "_id" || path.startsWith("_id.")) return null;
      if (op === "$inc" && typeof value !== "number") return null;
      const segments = path.split(".");
      let current: unknown = work;
      for (const segment of segments.slice(0, -1)) {
        current = (current as Record<string, unknown>)[segment];
        if (current === undefined) break;
        if (!isPlainObject(current)) return null;
      }
      steps.push({ op, path: segments, value });
    }
  }

  let modified = false;
  for (const { op, path, value } of steps) {
    const key = path.at(-1) as string;
    const parent = parentOf(work, path, op !== "$unset");
    if (!parent) continue;
    if (op === "$set") {
      if (isEqual(parent[key], value)) continue;
      parent[key] = cloneDeep(value);
      modified = true;
    } else if (op === "$inc") {
      const previous = parent[key];
      parent[key] = ((previous as number) || 0) + (value as number);
      if (parent[key] !== previous) modified = true;
    } else if (Object.hasOwn(parent, key)) {
      delete parent[key];
      modified = true;
    }
  }
  return modified;
}

/** The object holding the last segment of `path`, created along the way when `create`. */
function parentOf(
  work: Doc,
  path: readonly string[],
  create: boolean,
): Record<string, unknown> | null {
  let current = work as Record<string, unknown>;
  for (const segment of path.slice(0, -1)) {
    if (current[segment] === undefined) {
      if (!create) return null;
      current[segment] = {};
    }
    current = current[segment] as Record<string, unknown>;
  }
  return current;
}
