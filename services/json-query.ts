/**
 * The JSON parameters of Rocket.Chat's list routes (`sort`, `fields`, `query`), read as its
 * `parseJsonQuery` reads them: each must be an object, and text that is not one is
 * refused with `error-invalid-<parameter>`.
 */
import { ClientError } from "../core/errors.ts";

type JsonParameter = "sort" | "fields" | "query";

/** Rocket.Chat's refusal of parameter `name` given as `raw`. */
export function invalidJsonQuery(name: JsonParameter, raw: string): ClientError {
  return new ClientError(`error-invalid-${name}`, `Invalid ${name} parameter provided: "${raw}"`, {
    details: { helperMethod: "parseJsonQuery" },
  });
}

/**
 * Parameter `name` as the object `raw` holds, read with `parse` (JSON unless told);
 * refused as Rocket.Chat refuses it when it does not parse or is not a plain object.
 */
export function jsonQueryObject(
  name: JsonParameter,
  raw: string,
  parse: (text: string) => unknown = JSON.parse,
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parse(raw);
  } catch (error) {
    throw Object.assign(invalidJsonQuery(name, raw), { cause: error });
  }
  const plain =
    typeof parsed === "object" &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    !(parsed instanceof Date);
  if (!plain) throw invalidJsonQuery(name, raw);
  return parsed as Record<string, unknown>;
}
