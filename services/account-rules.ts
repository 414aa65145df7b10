/**
 * The rules an account must meet, apart from the store: names nobody may take, and the
 * errors for a username or e-mail already in use.
 */
import { ClientError } from "../core/errors.ts";

/** Usernames nobody may take, because mentions give them a meaning. */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set(["all", "here"]);

/**
 * Names the system keeps for itself, as Rocket.Chat's `Accounts_SystemBlockedUsernameList`
 * default: refused as usernames of new accounts and as room names, ignoring case.
 */
export const SYSTEM_BLOCKED_NAMES: readonly string[] = ["admin", "administrator", "system", "user"];

/** Rocket.Chat's default of `UTF8_User_Names_Validation`. */
const DEFAULT_USERNAME_PATTERN = "[0-9a-zA-Z-_.]+";

/**
 * Whether `username` matches the whole of `pattern`, the `UTF8_User_Names_Validation`
 * setting (Rocket.Chat's default when unset or when it is no valid regular expression,
 * so that an administrator's typo never turns account creation into a server error).
 */
export function usernameMatches(pattern: string | undefined, username: string): boolean {
  try {
    return new RegExp(`^${pattern ?? DEFAULT_USERNAME_PATTERN}$`).test(username);
  } catch {
    return new RegExp(`^${DEFAULT_USERNAME_PATTERN}$`).test(username);
  }
}

/**
 * Throws Rocket.Chat's `error-blocked-username` when `username` is reserved, one of the
 * system's names, or in `blockedList` (a comma-separated list), ignoring case.
 */
export function assertNotBlocked(username: string, blockedList: string): void {
  const blocked = [...RESERVED_USERNAMES, ...SYSTEM_BLOCKED_NAMES, ...blockedList.split(",")]
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (blocked.includes(username.trim().toLowerCase())) {
    throw new ClientError("error-blocked-username", `${username} is blocked and can't be used!`, {
      details: { method: "checkUsernameAvailability", field: username },
    });
  }
}

/** What an administrator asks for when creating an account. */
export interface CreationRequest {
  readonly name: string;
  readonly username: string;
  readonly password: string;
  readonly roles?: readonly string[];
}

/**
 * Throws the first of Rocket.Chat's `insertOrUpdateUser` refusals that `input` meets, in
 * its order: an unknown role, a missing name (when `requireName`), username or password,
 * and a blocked username.
 */
export function assertCreationRequest(
  input: CreationRequest,
  rules: { knownRoles: ReadonlySet<string>; requireName: boolean; blockedList: string },
): void {
  const fail = (reason: string, details: Record<string, unknown>, code: string) =>
    new ClientError(code, reason, { details: { method: "insertOrUpdateUser", ...details } });
  const required = "error-the-field-is-required";
  if (input.roles?.some((role) => !rules.knownRoles.has(role))) {
    const details = { action: "Assign_role" };
    throw fail("The field Roles consist invalid role id", details, "error-action-not-allowed");
  }
  if (rules.requireName && !input.name.trim()) {
    throw fail("The field Name is required", { field: "Name" }, required);
  }
  if (!input.username.trim()) {
    throw fail("The field Username is required", { field: "Username" }, required);
  }
  if (!input.password)
    throw fail("The field Password is required", { field: "Password" }, required);
  assertNotBlocked(input.username, rules.blockedList);
}

/**
 * The errors for a username or e-mail that another account holds; each entry point
 * words them as Rocket.Chat does there.
 */
export interface Conflicts {
  username(username: string): ClientError;
  email(email: string): ClientError;
}

/** How `insertOrUpdateUser` (users.create, seeded accounts) words a taken name or e-mail. */
export const CREATE_CONFLICTS: Conflicts = {
  username: (username) =>
    new ClientError("error-field-unavailable", `${username} is already in use :(`, {
      details: { method: "insertOrUpdateUser", field: username },
    }),
  email: (email) =>
    new ClientError("error-field-unavailable", `${email} is already in use :(`, {
      details: { method: "insertOrUpdateUser", field: email },
    }),
};

/** How `users.register` words them: a plain sentence, and Meteor accounts' 403 for e-mails. */
export const REGISTER_CONFLICTS: Conflicts = {
  username: () =>
    new ClientError("error-field-unavailable", "Username is already in use", { plain: true }),
  email: () => new ClientError(403, "Email already exists."),
};
