/**
 * EJSON, the JSON dialect of DDP: dates travel as `{"$date": <ms>}`. REST uses plain JSON
 * with ISO dates instead.
 */

/** Serializes a value for a DDP frame, writing every Date as `{$date}`. */
export function stringifyEJSON(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, converted) {
    // JSON.stringify has already applied Date#toJSON to `converted`; the holder keeps the Date.
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.getTime() } : converted;
  });
}

/** Parses a DDP frame, reviving `{$date}` into Date objects. Throws SyntaxError on bad JSON. */
export function parseEJSON(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const date = (value as { $date?: unknown }).$date;
      if (keys.length === 1 && typeof date === "number") return new Date(date);
    }
    return value;
  });
}
