/**
 * Checks of DDP method parameters, in the words of Meteor's `check()`: a parameter of the
 * wrong type fails with `Match failed [400]`, and a method that needs a user fails with
 * `error-invalid-user` for an anonymous caller.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import type { Services } from "./index.ts";

/** Who is calling a method. */
export interface MethodCaller {
  /** The logged-in user, or null for an anonymous connection. */
  readonly user: User | null;
  readonly connectionId: string;
}

/** A DDP method: resolves to its result (undefined sends a `result` frame without one). */
export type Method = (
  services: Services,
  caller: MethodCaller,
  params: readonly unknown[],
) => Promise<unknown>;

/** Meteor's answer to parameters that fail `check()`. */
export function matchFailed(): ClientError {
  return new ClientError(400, "Match failed");
}

/** `value` as a string; throws Match failed otherwise. */
export function str(value: unknown): string {
  if (typeof value !== "string") throw matchFailed();
  return value;
}

/** `value` as a string, or undefined for undefined and null; throws Match failed otherwise. */
export function optionalStr(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : str(value);
}

/** `value` as a plain object; throws Match failed for arrays, null and scalars. */
export function obj(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw matchFailed();
  return value as Record<string, unknown>;
}

/** `value` as a valid Date (EJSON `{$date}` arrives as one), or undefined for undefined and null. */
export function optionalDate(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw matchFailed();
  return value;
}

/** The caller's user; throws `error-invalid-user` naming `method` for an anonymous caller. */
export function loggedIn(caller: MethodCaller, method: string): User {
  if (!caller.user)
    throw new ClientError("error-invalid-user", "Invalid user", { details: { method } });
  return caller.user;
}
