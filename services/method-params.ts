/**
 * Checks of DDP method parameters, in the words of Meteor's `check()`: a parameter of the
 * wrong type fails with `Match failed [400]`; and how a method declares who may call it.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import type { Access } from "./authz.ts";
import type { Services } from "./index.ts";

/** Who is calling a method. */
export interface MethodCaller {
  /** The logged-in user, or null for an anonymous connection. */
  readonly user: User | null;
  readonly connectionId: string;
  /** Hash of the login token the caller authenticated with, when it did. */
  readonly hashedToken?: string;
  /** The caller's network address (failed-login blocking counts by it). */
  readonly address?: string;
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

/** A caller the enforcement point has found logged in. */
export interface SignedInCaller extends MethodCaller {
  readonly user: User;
}

/** A method that needs a login: its caller is known. */
export type UserMethod = (
  services: Services,
  caller: SignedInCaller,
  params: readonly unknown[],
) => Promise<unknown>;

/** Who may call a method that needs a login, and how an anonymous caller is refused. */
export interface LoginRule extends Partial<Access> {
  /**
   * Rocket.Chat's refusal of an anonymous caller where it is not `error-invalid-user`
   * naming the method (some of its methods word it otherwise).
   */
  readonly refusal?: () => ClientError;
}

/**
 * A method and who may call it, declared together so that `callMethod` checks every
 * method in one place: `open` ones take anyone, `login` ones a logged-in caller holding
 * the rule's global permissions.
 */
export type MethodDef =
  | { readonly access: "open"; readonly run: Method }
  | { readonly access: "login"; readonly rule: LoginRule; readonly run: UserMethod };

/** Declares a method anyone may call, logged in or not. */
export function open(run: Method): MethodDef {
  return { access: "open", run };
}

/** Declares a method that needs a login and, if `rule` says so, global permissions. */
export function signedIn(run: UserMethod, rule: LoginRule = {}): MethodDef {
  return { access: "login", rule, run };
}

/** Rocket.Chat's refusal of an anonymous caller of `method`. */
export function invalidUser(method: string): ClientError {
  return new ClientError("error-invalid-user", "Invalid user", { details: { method } });
}
