/**
 * The text form of values that cross the bus: JSON, plus the values MongoDB queries and
 * documents hold that JSON loses. A Date, a RegExp, bytes (as base64), `undefined` (which
 * the MongoDB driver stores as null, so `{ field: undefined }` must not turn into `{}`) and
 * the non-finite numbers travel as one-key objects whose key starts with a NUL character, a name no
 * stored field can have.
 */

import { base64ToBytes, bytesToBase64 } from "../core/base64.ts";

const DATE = "\u0000date";
const REGEXP = "\u0000regexp";
const UNDEFINED = "\u0000undefined";
const NUMBER = "\u0000number";
const BYTES = "\u0000bytes";

/** Encodes `value` for the bus. */
export function encodeWire(value: unknown): string {
  return JSON.stringify(
    value === undefined ? { [UNDEFINED]: 1 } : value,
    function (this: Record<string, unknown>, key, converted: unknown) {
      // JSON.stringify has already applied Date#toJSON to `converted`; the holder keeps the Date.
      const raw = this[key];
      if (raw instanceof Date) return { [DATE]: raw.getTime() };
      if (raw instanceof RegExp) return { [REGEXP]: [raw.source, raw.flags] };
      if (raw instanceof Uint8Array) return { [BYTES]: bytesToBase64(raw) };
      if (raw === undefined) return { [UNDEFINED]: 1 };
      if (typeof raw === "number" && !Number.isFinite(raw)) return { [NUMBER]: String(raw) };
      return converted;
    },
  );
}

/** Decodes text written by encodeWire. Throws SyntaxError on text that is not JSON. */
export function decodeWire(text: string): unknown {
  return revive(JSON.parse(text));
}

function revive(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const tagged = tag(keys[0] as string, obj[keys[0] as string]);
    if (tagged !== NOT_TAGGED) return tagged;
  }
  // A key whose value was undefined keeps it: `{ rid: undefined }` is not `{}`.
  for (const key of keys) obj[key] = revive(obj[key]);
  return obj;
}

const NOT_TAGGED = Symbol("not tagged");

function tag(key: string, inner: unknown): unknown {
  switch (key) {
    case DATE:
      return typeof inner === "number" ? new Date(inner) : NOT_TAGGED;
    case REGEXP:
      return Array.isArray(inner) ? new RegExp(String(inner[0]), String(inner[1])) : NOT_TAGGED;
    case UNDEFINED:
      return undefined;
    case NUMBER:
      return Number(inner);
    case BYTES:
      return typeof inner === "string" ? base64ToBytes(inner) : NOT_TAGGED;
    default:
      return NOT_TAGGED;
  }
}
