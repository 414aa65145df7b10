/**
 * Ending a user's logins from outside their own sessions: every token at once (logout of
 * another user, deactivation), or every one but those kept (a password change keeps the
 * caller's own token and the personal access tokens). Each ended token is revoked in the
 * store first, then the open DDP sessions that used it are told at once (SessionSignal
 * `logged-out`) and close.
 */
import type { LoginToken } from "../core/models.ts";
import { tokenExpires } from "./accounts.ts";
import type { Deps } from "./context.ts";

type SessionDeps = Pick<Deps, "db" | "hub">;

/**
 * Removes every login token of user `uid`, personal access tokens included, and closes
 * all their sessions. Resolves whether the user exists.
 */
export async function logoutEverywhere(deps: SessionDeps, uid: string): Promise<boolean> {
  const result = await deps.db.users.updateOne(
    { _id: uid },
    { $set: { "services.resume.loginTokens": [] } },
  );
  deps.hub.signal(uid, { type: "logged-out" });
  return result.matchedCount > 0;
}

/**
 * Removes the login tokens of user `uid` except those hashed in `keepHashed` (the caller's
 * own, usually) and personal access tokens, and closes the sessions that used them.
 */
export async function logoutOtherSessions(
  deps: SessionDeps,
  uid: string,
  keepHashed: readonly string[],
): Promise<void> {
  const user = await deps.db.users.findOne(
    { _id: uid },
    { projection: { "services.resume.loginTokens": 1 } },
  );
  const tokens: LoginToken[] = user?.services?.resume?.loginTokens ?? [];
  const ended = tokens.filter(
    (t) => t.type !== "personalAccessToken" && !keepHashed.includes(t.hashedToken),
  );
  if (ended.length === 0) return;
  const hashes = ended.map((t) => t.hashedToken);
  await deps.db.users.updateOne(
    { _id: uid },
    { $pull: { "services.resume.loginTokens": { hashedToken: { $in: hashes } } } },
  );
  for (const hashedToken of hashes) deps.hub.signal(uid, { type: "logged-out", hashedToken });
}

/**
 * Ends every login of user `uid` but the one hashed `hashedToken` and personal access
 * tokens, as Rocket.Chat's `users.logoutOtherClients` does. Resolves to when the kept token
 * expires, or null when it never does (a personal access token).
 */
export async function logoutOtherClients(
  deps: SessionDeps,
  uid: string,
  hashedToken: string,
): Promise<Date | null> {
  await logoutOtherSessions(deps, uid, [hashedToken]);
  const user = await deps.db.users.findOne(
    { _id: uid },
    { projection: { "services.resume.loginTokens": 1 } },
  );
  const kept = user?.services?.resume?.loginTokens?.find((t) => t.hashedToken === hashedToken);
  return kept?.when && kept.type !== "personalAccessToken" ? tokenExpires(kept.when) : null;
}
