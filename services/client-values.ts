/**
 * Checks on free-form values a client sends (message attachments, custom fields) before
 * they reach the store: keys MongoDB refuses or that JavaScript treats specially, nesting
 * deeper than any real client produces, and sizes. The store would refuse some of these
 * too, but as a fault inside a room actor; refused here they are the client's error.
 */
import { ClientError } from "../core/errors.ts";

/**
 * How deeply objects and arrays may nest, counting the value itself as level 1. Quoted
 * messages nest attachments a few levels and UIKit blocks reach about 8; MongoDB's own
 * ceiling is 100.
 */
export const MAX_NESTING_DEPTH = 32;

/** Keys that would change an object's prototype or shadow its constructor when copied. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function invalid(reason: string, field: string): ClientError {
  return new ClientError("error-invalid-params", reason, { details: { field } });
}

/** Why MongoDB or a plain-object copy would mishandle `key`, or undefined when it is fine. */
function keyProblem(key: string): string | undefined {
  if (key.startsWith("$")) return "may not start with '$'";
  if (key.includes(".")) return "may not contain '.'";
  if (key.includes("\0")) return "may not contain a NUL character";
  if (FORBIDDEN_KEYS.has(key)) return "is reserved";
  return undefined;
}

/** The path of a child for error texts: `attachments.0.title`. */
function childPath(path: string, key: string | number): string {
  return `${path}.${key}`;
}

/**
 * Walks `value` (sent as `field`) without recursion and throws `error-invalid-params`
 * naming the path of the first key that starts with `$`, contains `.` or NUL, or is
 * `__proto__`, `constructor` or `prototype`, of nesting deeper than MAX_NESTING_DEPTH,
 * and of values JSON and EJSON cannot carry. Returns the value's approximate size as
 * JSON in characters, counting at most up to `limit + 1` (the walk stops there), so
 * that the caller can refuse an oversized value with its own error.
 */
export function measureClientValue(value: unknown, field: string, limit: number): number {
  const pending: { value: unknown; path: string; depth: number }[] = [
    { value, path: field, depth: 1 },
  ];
  let size = 0;
  while (pending.length > 0 && size <= limit) {
    const item = pending.pop() as { value: unknown; path: string; depth: number };
    const current = item.value;
    if (current === null || typeof current !== "object") {
      if (typeof current === "function" || typeof current === "symbol")
        throw invalid(`Unsupported value of type ${typeof current} at ${item.path}`, field);
      size += typeof current === "string" ? current.length + 2 : String(current).length;
      continue;
    }
    if (current instanceof Date) {
      size += 24;
      continue;
    }
    if (item.depth > MAX_NESTING_DEPTH) {
      throw invalid(`${field} nests deeper than ${MAX_NESTING_DEPTH} levels`, field);
    }
    size += 2;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        pending.push({ value: current[i], path: childPath(item.path, i), depth: item.depth + 1 });
      }
      size += current.length;
      continue;
    }
    // A `__proto__` key copied by plain assignment (as request parsing may do) leaves no
    // key behind, only a foreign prototype.
    const proto = Object.getPrototypeOf(current);
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(`Value at ${item.path} is not a plain object`, field);
    }
    for (const [key, child] of Object.entries(current)) {
      const problem = keyProblem(key);
      if (problem) throw invalid(`Key '${key}' at ${item.path} ${problem}`, field);
      size += key.length + 4;
      pending.push({ value: child, path: childPath(item.path, key), depth: item.depth + 1 });
    }
  }
  return size;
}

/**
 * Throws `error-invalid-params` when `value` (sent as `field`) breaks a rule of
 * measureClientValue or is larger than `maxChars` characters as JSON.
 */
export function assertClientValue(value: unknown, field: string, maxChars: number): void {
  if (measureClientValue(value, field, maxChars) > maxChars) {
    throw invalid(`${field} is larger than ${maxChars} characters`, field);
  }
}
