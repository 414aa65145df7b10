/**
 * Value handling for the embedded engine: copying and validating incoming documents,
 * MongoDB's cross-type ordering, index keys, path traversal, and the SQLite text encoding.
 */
import { base64ToBytes, bytesToBase64 } from "../core/base64.ts";
import { InvalidQueryError, type Doc } from "./types.ts";

const ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

/**
 * A fresh 17-character document id in Meteor's alphabet, drawn from crypto.getRandomValues.
 * Returns the id; never throws.
 */
export function newId(): string {
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % ID_ALPHABET.length);
  let out = "";
  while (out.length < 17) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < limit && out.length < 17) out += ID_ALPHABET[byte % ID_ALPHABET.length];
    }
  }
  return out;
}

/** True for `{}`-style objects (not arrays, Dates or class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How deeply objects and arrays may nest in a stored value: MongoDB's BSON limit. */
const MAX_DEPTH = 100;

/**
 * Deep-copies `value` into the shape the engine stores: `undefined` becomes `null` (as the
 * MongoDB driver serializes it), Dates and byte arrays are copied, field names starting
 * with `$` are refused (so the storage encoding's `$date` marker can never be confused
 * with user data).
 * Throws InvalidQueryError for `$` field names, for nesting deeper than MAX_DEPTH (before
 * the walk could exhaust the stack) and for unsupported types (functions, bigint, Map,
 * RegExp, class instances, invalid Dates).
 */
export function normalizeValue(value: unknown, path = "", depth = 0): unknown {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
    case "number":
      return value;
    case "object":
      break;
    default:
      throw new InvalidQueryError(`Unsupported value of type ${typeof value} at '${path}'`);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InvalidQueryError(`Invalid Date at '${path}'`);
    return new Date(value.getTime());
  }
  // Bytes are MongoDB's binary type (subtype 0); a Node Buffer is copied into a plain array.
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (depth >= MAX_DEPTH) {
    throw new InvalidQueryError(`Value nests deeper than ${MAX_DEPTH} levels at '${path}'`);
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++)
      out[i] = normalizeValue(value[i], `${path}.${i}`, depth + 1);
    return out;
  }
  if (!isPlainObject(value)) {
    throw new InvalidQueryError(
      `Unsupported value ${Object.prototype.toString.call(value)} at '${path}'`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith("$")) {
      throw new InvalidQueryError(
        `Field names may not start with '$': '${path ? `${path}.` : ""}${key}'`,
      );
    }
    setField(out, key, normalizeValue(v, path ? `${path}.${key}` : key, depth + 1));
  }
  return out;
}

/**
 * Sets `out[key]` as an own field. A field may be named `__proto__` in MongoDB, and an
 * assignment would set the object's prototype instead of storing it.
 */
function setField(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else out[key] = value;
}

/**
 * A deep copy of a stored value (as normalizeValue leaves it: null, strings, numbers,
 * booleans, Dates, byte arrays, arrays and plain objects), for handing documents out of
 * the store and for working on one. Several times faster than structuredClone on such values.
 */
export function copyStored<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyStored(value[i]);
    return out as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    setField(out, key, copyStored((value as Record<string, unknown>)[key]));
  }
  return out as T;
}

/**
 * Normalizes a document for storage (see normalizeValue) and checks its `_id`: a missing
 * `_id` gets a newId(); a non-string `_id` throws InvalidQueryError.
 */
export function normalizeDoc(doc: unknown): Doc {
  if (!isPlainObject(doc)) throw new InvalidQueryError("A document must be a plain object");
  const out = normalizeValue(doc) as Record<string, unknown>;
  if (typeof out._id === "string") return out as Doc;
  if (out._id !== undefined && out._id !== null)
    throw new InvalidQueryError("Document _id must be a string");
  // MongoDB keeps a generated _id as the first field.
  const { _id: _missing, ...rest } = out;
  return { _id: newId(), ...rest };
}

function typeRank(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value === "number") return 2;
  if (typeof value === "string") return 3;
  if (Array.isArray(value)) return 5;
  if (value instanceof Uint8Array) return 6;
  if (typeof value === "boolean") return 8;
  if (value instanceof Date) return 9;
  if (value instanceof RegExp) return 11;
  if (typeof value === "object") return 4;
  return 12;
}

/**
 * Total order over stored values following MongoDB's BSON comparison order
 * (null < numbers < strings < objects < arrays < binary < booleans < Dates); binary values
 * compare by length first, then byte by byte. Returns <0, 0 or >0.
 */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
      return 0;
    case 2: {
      const x = a as number;
      const y = b as number;
      if (Number.isNaN(x) || Number.isNaN(y))
        return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : 1;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 3:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 5: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 6: {
      const x = a as Uint8Array;
      const y = b as Uint8Array;
      if (x.length !== y.length) return x.length - y.length;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return 0;
    }
    case 8:
      return Number(a) - Number(b);
    case 9:
      return (a as Date).getTime() - (b as Date).getTime();
    case 4: {
      const x = Object.entries(a as object);
      const y = Object.entries(b as object);
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const [kx, vx] = x[i]!;
        const [ky, vy] = y[i]!;
        const c =
          typeRank(vx) - typeRank(vy) || (kx < ky ? -1 : kx > ky ? 1 : 0) || compareValues(vx, vy);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default:
      return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  }
}

/** A string that is equal for two values exactly when MongoDB's equality holds for them. */
export function encodeKey(value: unknown): string {
  if (value === undefined || value === null) return "z";
  switch (typeof value) {
    case "number":
      return `n${value}`;
    case "string":
      return `s${value}`;
    case "boolean":
      return value ? "b1" : "b0";
  }
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof Uint8Array) return `x${bytesToBase64(value)}`;
  return `j${encodeStored(value)}`;
}

/** The values found at a dotted path, fanning out over arrays, and whether an array was met. */
export interface PathValues {
  /** Leaf values; `undefined` marks a missing field. Array leaves are expanded (multikey). */
  readonly values: unknown[];
  readonly multikey: boolean;
}

/**
 * Collects the values at `path` in `doc` the way a MongoDB index does: arrays met along the
 * way (or at the leaf) contribute each element; numeric segments also index into arrays.
 */
export function valuesAtPath(doc: unknown, path: string): PathValues {
  const out: unknown[] = [];
  const state = { multikey: false };
  let segs = SEGMENTS.get(path);
  if (!segs) {
    segs = path.split(".");
    if (SEGMENTS.size < 10_000) SEGMENTS.set(path, segs);
  }
  collect(doc, segs, 0, out, state);
  return { values: out, multikey: state.multikey };
}

// Index and sort paths repeat endlessly; splitting each once is measurably cheaper.
const SEGMENTS = new Map<string, string[]>();

function collect(
  value: unknown,
  segs: string[],
  i: number,
  out: unknown[],
  state: { multikey: boolean },
): void {
  if (i === segs.length) {
    if (Array.isArray(value)) {
      state.multikey = true;
      if (value.length === 0) out.push(undefined);
      else out.push(...value);
    } else {
      out.push(value);
    }
    return;
  }
  const seg = segs[i]!;
  if (Array.isArray(value)) {
    if (/^\d+$/.test(seg)) return collect(value[Number(seg)], segs, i + 1, out, state);
    state.multikey = true;
    if (value.length === 0) out.push(undefined);
    for (const el of value) {
      if (isPlainObject(el)) collect(el[seg], segs, i + 1, out, state);
      else out.push(undefined);
    }
    return;
  }
  if (isPlainObject(value)) return collect(value[seg], segs, i + 1, out, state);
  out.push(undefined);
}

/**
 * The value MongoDB sorts a document by for `path`: the field itself, or for arrays the
 * smallest element (ascending) or the largest (descending).
 */
export function sortValue(doc: unknown, path: string, direction: 1 | -1): unknown {
  const { values, multikey } = valuesAtPath(doc, path);
  if (!multikey) return values[0];
  let best: unknown = values[0];
  for (const v of values) if (compareValues(v, best) * direction < 0) best = v;
  return best;
}

function toStorable(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.getTime() };
  if (value instanceof Uint8Array) return { $binary: bytesToBase64(value) };
  if (typeof value === "number" && !Number.isFinite(value)) return { $num: String(value) };
  if (Array.isArray(value)) return value.map(toStorable);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toStorable(v);
    return out;
  }
  return value;
}

/**
 * Encodes a normalized value as JSON text: Dates as `{"$date": ms}`, byte arrays as
 * `{"$binary": base64}` and non-finite numbers as `{"$num": "NaN"}`. Unambiguous because
 * stored field names never start with `$`.
 */
export function encodeStored(value: unknown): string {
  return JSON.stringify(toStorable(value));
}

/** Decodes text written by encodeStored, restoring Dates and bytes, nested and in arrays. */
export function decodeStored(text: string): unknown {
  // A plain parse plus one walk is several times faster than JSON.parse with a reviver.
  return revive(JSON.parse(text));
}

function revive(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    if (key === "$date" && typeof obj.$date === "number") return new Date(obj.$date);
    if (key === "$num" && typeof obj.$num === "string") return Number(obj.$num);
    if (key === "$binary" && typeof obj.$binary === "string") return base64ToBytes(obj.$binary);
    obj[key] = revive(obj[key]);
  }
  return obj;
}
