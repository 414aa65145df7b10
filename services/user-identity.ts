/**
 * Changing who a user is called: a new username or display name, written to the account
 * and to the copies Rocket.Chat keeps elsewhere (messages, subscriptions, rooms, direct
 * messages), and a new e-mail address. Names and addresses stay unique regardless of case.
 */
import { ClientError } from "../core/errors.ts";
import { isEmailAddress, type User } from "../core/models.ts";
import { assertNotBlocked, SYSTEM_BLOCKED_NAMES, usernameMatches } from "./account-rules.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Services } from "./index.ts";

/** Rocket.Chat's failure of `saveUserIdentity`: a name that cannot be taken or set. */
export function identityFailure(method = "saveUser"): ClientError {
  return new ClientError("error-could-not-save-identity", "Could not save user identity", {
    details: { method },
  });
}

/** Whether `username` matches `UTF8_User_Names_Validation`. */
export function validUsername(services: Services, username: string): boolean {
  return usernameMatches(services.settings.get<string>("UTF8_User_Names_Validation"), username);
}

/**
 * Checks a new username for `user` as Rocket.Chat's saveUserIdentity does: a malformed
 * name or one of the system's names fails the identity (`error-could-not-save-identity`),
 * a blocked one is `error-blocked-username`, and one another account holds (ignoring
 * case) fails the identity too. A change of case of the user's own name is allowed.
 */
export async function assertUsernameFree(services: Services, user: User, username: string) {
  if (!username || !validUsername(services, username)) throw identityFailure();
  if (SYSTEM_BLOCKED_NAMES.includes(username.toLowerCase())) throw identityFailure();
  if (username.toLowerCase() === user.username.toLowerCase()) return;
  assertNotBlocked(username, services.settings.get<string>("Accounts_BlockedUsernameList") ?? "");
  if (!(await services.accounts.usernameAvailable(username))) throw identityFailure();
}

/**
 * Renames `user` to `username` and `name` (either may be undefined: unchanged), then
 * rewrites the copies of the old names: the author of their messages, their
 * subscriptions, the rooms they created, the member lists and names of their direct
 * messages. Announces `Users:NameChanged` to everyone logged in.
 *
 * Limitation: the text of old messages keeps `@oldname` mentions as they were written, so
 * such a mention no longer links to the user; Rocket.Chat rewrites the text too.
 */
export async function saveIdentity(
  services: Services,
  user: User,
  change: { username?: string; name?: string },
): Promise<void> {
  const { db, hub, clock } = services.deps;
  const username = change.username ?? user.username;
  const name = change.name ?? user.name;
  const renamed = username !== user.username;
  if (!renamed && name === user.name) return;
  await db.users.updateOne(
    { _id: user._id },
    { $set: { username, ...(name !== undefined && { name }), _updatedAt: clock.now() } },
  );
  const uid = user._id;
  if (renamed) {
    await db.messages.updateMany({ "u._id": uid }, { $set: { "u.username": username } });
    await db.messages.updateMany(
      { "editedBy._id": uid },
      { $set: { "editedBy.username": username } },
    );
    await db.subscriptions.updateMany({ "u._id": uid }, { $set: { "u.username": username } });
    await db.rooms.updateMany({ "u._id": uid }, { $set: { "u.username": username } });
    const directs = await db.rooms.find({ t: "d", uids: uid }, { projection: { usernames: 1 } });
    for (const room of directs) {
      const usernames = (room.usernames ?? []).map((u) => (u === user.username ? username : u));
      await db.rooms.updateOne({ _id: room._id }, { $set: { usernames } });
    }
  }
  if (name !== undefined) {
    await db.messages.updateMany({ "u._id": uid }, { $set: { "u.name": name } });
  }
  // Each partner's subscription to a direct message is named after the other member.
  await db.subscriptions.updateMany(
    { t: "d", name: user.username, "u._id": { $ne: uid } },
    { $set: { name: username, ...(name !== undefined && { fname: name }) } },
  );
  hub.emit("stream-notify-logged", "Users:NameChanged", [{ _id: uid, name, username }]);
}

/**
 * Sets `user`'s e-mail address (lower-cased), unverified unless `verified`. Throws
 * `error-invalid-email` for a malformed address and `error-field-unavailable` for one
 * another account holds, ignoring case. Unchanged addresses only update verification.
 */
export async function saveEmail(
  services: Services,
  user: User,
  raw: string,
  verified: boolean,
): Promise<void> {
  const email = raw.trim().toLowerCase();
  if (!email || !isEmailAddress(email)) {
    throw new ClientError("error-invalid-email", `Invalid email ${raw.trim()}`, {
      details: { function: "RocketChat.validateEmailDomain", email: raw.trim() },
    });
  }
  const { db, clock } = services.deps;
  if (user.emails?.[0]?.address === email) {
    await db.users.updateOne({ _id: user._id }, { $set: { "emails.0.verified": verified } });
    return;
  }
  const taken = await db.users.findOne(
    { "emails.address": email, _id: { $ne: user._id } },
    { projection: { _id: 1 } },
  );
  if (taken) {
    throw new ClientError("error-field-unavailable", `${email} is already in use :(`, {
      details: { function: "_setEmail", field: email },
    });
  }
  try {
    await db.users.updateOne(
      { _id: user._id },
      { $set: { emails: [{ address: email, verified }], _updatedAt: clock.now() } },
    );
  } catch (error) {
    // Taken meanwhile by another account: the unique index refused it.
    if (!(error instanceof DuplicateKeyError)) throw error;
    throw new ClientError("error-field-unavailable", `${email} is already in use :(`, {
      details: { function: "_setEmail", field: email },
      cause: error,
    });
  }
}
