/**
 * Personal access tokens: named login tokens a user makes for bots and scripts. Each is
 * stored hashed beside the login tokens, so it authenticates as `X-Auth-Token` like any
 * other, but it never expires and a password change keeps it. The token itself is shown
 * once, when it is made.
 */
import { ClientError } from "../core/errors.ts";
import type { LoginToken, User } from "../core/models.ts";
import { hashLoginToken } from "../core/password.ts";
import type { Services } from "./index.ts";

/** A token as `users.getPersonalAccessTokens` lists it. */
export interface TokenView {
  readonly name: string;
  readonly createdAt: string;
  readonly lastTokenPart: string;
  readonly bypassTwoFactor: boolean;
}

function tokensOf(user: User): LoginToken[] {
  return (user.services?.resume?.loginTokens ?? []).filter((t) => t.type === "personalAccessToken");
}

async function assertAllowed(services: Services, user: User, method: string): Promise<void> {
  if (!(await services.authz.can(user, "create-personal-access-tokens"))) {
    throw new ClientError("not-authorized", "Not Authorized", { details: { method } });
  }
}

function missing(method: string): ClientError {
  return new ClientError("error-token-does-not-exists", "Token does not exist", {
    details: { method },
  });
}

async function issue(services: Services, user: User, name: string, bypassTwoFactor: boolean) {
  const { ids, clock, db } = services.deps;
  const token = ids.secret();
  const record: LoginToken = {
    hashedToken: await hashLoginToken(token),
    type: "personalAccessToken",
    createdAt: clock.now(),
    lastTokenPart: token.slice(-6),
    name,
    bypassTwoFactor,
  };
  await db.users.updateOne({ _id: user._id }, { $push: { "services.resume.loginTokens": record } });
  return token;
}

/**
 * Makes a token named `name` for `user` and resolves to it. Throws `not-authorized`
 * without `create-personal-access-tokens` and `error-token-already-exists` for a name in use.
 */
export async function generateToken(
  services: Services,
  user: User,
  name: string,
  bypassTwoFactor: boolean,
): Promise<string> {
  const method = "personalAccessTokens:generateToken";
  await assertAllowed(services, user, method);
  return services.accounts.exclusive(async () => {
    const fresh = (await services.deps.db.users.findOne({ _id: user._id })) ?? user;
    if (tokensOf(fresh).some((t) => t.name === name)) {
      throw new ClientError("error-token-already-exists", "A token with this name already exists", {
        details: { method },
      });
    }
    return issue(services, user, name, bypassTwoFactor);
  });
}

/**
 * Replaces `user`'s token named `name` by a new one (same name and 2FA bypass) and
 * resolves to it; sessions that used the old one close. Throws `not-authorized` or
 * `error-token-does-not-exists`.
 */
export async function regenerateToken(services: Services, user: User, name: string) {
  const method = "personalAccessTokens:regenerateToken";
  await assertAllowed(services, user, method);
  return services.accounts.exclusive(async () => {
    const old = await removeNamed(services, user, name, method);
    return issue(services, user, name, old.bypassTwoFactor === true);
  });
}

/** Deletes `user`'s token named `name`; sessions that used it close. */
export async function removeToken(services: Services, user: User, name: string): Promise<void> {
  const method = "personalAccessTokens:removeToken";
  await assertAllowed(services, user, method);
  await services.accounts.exclusive(() => removeNamed(services, user, name, method));
}

async function removeNamed(services: Services, user: User, name: string, method: string) {
  const { db, hub } = services.deps;
  const fresh = (await db.users.findOne({ _id: user._id })) ?? user;
  const token = tokensOf(fresh).find((t) => t.name === name);
  if (!token) throw missing(method);
  await db.users.updateOne(
    { _id: user._id },
    { $pull: { "services.resume.loginTokens": { hashedToken: token.hashedToken } } },
  );
  hub.signal(user._id, { type: "logged-out", hashedToken: token.hashedToken });
  return token;
}

/** `user`'s tokens, without the tokens themselves. */
export function listTokens(user: User): TokenView[] {
  return tokensOf(user).map((t) => ({
    name: t.name ?? "",
    createdAt: (t.createdAt ?? new Date(0)).toISOString(),
    lastTokenPart: t.lastTokenPart ?? "",
    bypassTwoFactor: t.bypassTwoFactor === true,
  }));
}
