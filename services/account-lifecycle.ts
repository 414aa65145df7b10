/**
 * Deactivating, reactivating and deleting accounts, as Rocket.Chat's setUserActiveStatus
 * and deleteUser do. A user who is the last owner of rooms is refused (`user-last-owner`,
 * naming the rooms) unless the caller confirms relinquishing them: each such room then
 * gets its oldest active member as owner, or, with nobody left to own it, is deleted.
 * Deactivation ends every login at once; deletion also takes the user out of every room,
 * deletes their direct messages and avatar, and deletes or unlinks their messages as
 * `Message_ErasureType` says.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import { AVATAR_BUCKET } from "./avatars.ts";
import type { Services } from "./index.ts";
import { recordDeletion } from "./message-sync.ts";
import { eraseDiscussions } from "./room-lifecycle.ts";
import { logoutEverywhere } from "./sessions.ts";
import { removeUploads, uploadIdsOf } from "./uploads.ts";

/** What happens to one of the user's rooms when they leave it for good. */
interface RoomFate {
  readonly rid: string;
  /** Nobody else could own it: it is deleted. */
  readonly remove: boolean;
  /** The member who becomes its owner. */
  readonly newOwner: string | null;
}

/**
 * The fate of each room (direct messages aside) that user `uid` would leave behind: rooms
 * they own alone pass to the longest-standing active member, or go when there is none;
 * rooms they are the only member of go too.
 */
async function roomFates(services: Services, uid: string): Promise<RoomFate[]> {
  const { db } = services.deps;
  const subs = await db.subscriptions.find({ "u._id": uid, t: { $ne: "d" } });
  const fates: RoomFate[] = [];
  for (const sub of subs) {
    const members = await db.subscriptions.find(
      { rid: sub.rid },
      { projection: { u: 1, roles: 1 }, sort: { ts: 1 } },
    );
    const owners = members.filter((m) => m.roles?.includes("owner"));
    const lastOwner = sub.roles?.includes("owner") === true && owners.length === 1;
    if (!lastOwner) {
      if (members.length === 1) fates.push({ rid: sub.rid, remove: true, newOwner: null });
      continue;
    }
    const others = members.filter((m) => m.u._id !== uid).map((m) => m.u._id);
    const active = await db.users.find(
      { _id: { $in: others }, active: true },
      { projection: { _id: 1 } },
    );
    const activeIds = new Set(active.map((u) => u._id));
    const newOwner = others.find((id) => activeIds.has(id)) ?? null;
    fates.push({ rid: sub.rid, remove: newOwner === null, newOwner });
  }
  return fates;
}

/** Rocket.Chat's `user-last-owner` refusal, naming the rooms that would change or go. */
async function lastOwnerRefusal(services: Services, fates: RoomFate[]): Promise<ClientError> {
  const rooms = await services.deps.db.rooms.find(
    { _id: { $in: fates.map((f) => f.rid) } },
    { projection: { name: 1, fname: 1 } },
  );
  const nameOf = new Map(rooms.map((r) => [r._id, r.fname ?? r.name ?? r._id]));
  const names = (list: RoomFate[]) => list.map((f) => nameOf.get(f.rid) as string);
  return new ClientError("user-last-owner", undefined, {
    details: {
      shouldBeRemoved: names(fates.filter((f) => f.remove)),
      shouldChangeOwner: names(fates.filter((f) => f.newOwner !== null)),
    },
  });
}

/** Throws `user-last-owner` unless confirmed; resolves to the fates to carry out. */
async function plannedFates(services: Services, uid: string, confirmRelinquish: boolean) {
  const fates = await roomFates(services, uid);
  if (fates.length > 0 && !confirmRelinquish) throw await lastOwnerRefusal(services, fates);
  return fates;
}

/** Hands rooms over and deletes the ones nobody keeps, each through its actor. */
async function relinquish(services: Services, by: User, fates: RoomFate[]): Promise<void> {
  const { rooms } = services.deps;
  for (const fate of fates) {
    if (fate.newOwner) {
      await rooms.execute(fate.rid, { kind: "account.handOver", newOwner: fate.newOwner });
    } else {
      await eraseDiscussions(services.deps, by, [fate.rid]);
      await rooms.execute(fate.rid, { kind: "lifecycle.erase", user: by, cascade: true });
    }
  }
}

/** Throws when `user` is the only active administrator, whom nobody may take away. */
async function assertNotLastAdmin(services: Services, user: User, method: string, why: string) {
  if (!user.roles.includes("admin")) return;
  const filter = method === "deleteUser" ? { roles: "admin" } : { roles: "admin", active: true };
  if ((await services.deps.db.users.countDocuments(filter)) > 1) return;
  throw new ClientError("error-action-not-allowed", why, {
    details: { method, action: "Remove_last_admin" },
  });
}

/**
 * Activates or deactivates user `uid` as `by`. Deactivating refuses the last active administrator
 * and a last owner without `confirmRelinquish`, then ends every login of the user: their
 * tokens are revoked and their open sessions closed at once. Resolves to the user after
 * the change, or null when there is no such user.
 */
export async function setActiveStatus(
  services: Services,
  by: User,
  uid: string,
  active: boolean,
  confirmRelinquish: boolean,
): Promise<User | null> {
  const { db, clock } = services.deps;
  const user = await db.users.findOne({ _id: uid });
  if (!user) return null;
  if (!active) {
    const why = "Leaving the app without an active admin is not allowed";
    await assertNotLastAdmin(services, user, "removeUserFromRole", why);
    await relinquish(services, by, await plannedFates(services, uid, confirmRelinquish));
  }
  await db.users.updateOne(
    { _id: uid },
    { $set: { active, _updatedAt: clock.now() }, ...(active && { $unset: { reason: 1 } }) },
  );
  // Partners see a deactivated user's direct messages as archived.
  await db.subscriptions.updateMany(
    { t: "d", name: user.username, "u._id": { $ne: uid } },
    { $set: { archived: !active } },
  );
  if (!active) await logoutEverywhere(services.deps, uid);
  return db.users.findOne({ _id: uid });
}

/** Deletes or unlinks the messages of user `uid`, as `Message_ErasureType` says. */
async function eraseMessages(services: Services, uid: string): Promise<string> {
  const { db } = services.deps;
  const mode = services.settings.get<string>("Message_ErasureType") ?? "Delete";
  if (mode === "Delete") {
    for (const message of await db.messages.find({ "u._id": uid })) {
      await recordDeletion(services.deps, message);
      await db.messages.deleteOne({ _id: message._id });
      await removeUploads(services.deps, uploadIdsOf(message));
    }
  } else if (mode === "Unlink") {
    await db.messages.updateMany(
      { "u._id": uid },
      { $set: { u: { _id: "rocket.cat", username: "rocket.cat" }, alias: "Removed User" } },
    );
  }
  return mode;
}

/**
 * Deletes user `uid` as `by`, after Rocket.Chat's refusals: `rocket.cat`, and a last owner
 * without `confirmRelinquish`. Rooms the user leaves behind are handed over or deleted;
 * their direct messages with one other person are deleted, group ones lose them; their
 * messages go as `Message_ErasureType` says; their avatar goes; their sessions close.
 * Everyone logged in hears `Users:Deleted`. Resolves whether there was such a user.
 * Deletions run one at a time: `guard`, given the user as stored once this deletion's turn
 * came, may throw to refuse it, so checks such as the last administrator's hold.
 *
 * Limitation: the user's reactions stay on other people's messages under their username.
 * Limitation: messages are deleted outside the rooms' actors, so a room's message count
 * and last message still count them until the room changes again.
 */
export async function deleteUser(
  services: Services,
  by: User,
  uid: string,
  confirmRelinquish: boolean,
  guard?: (user: User) => Promise<void>,
): Promise<boolean> {
  if (uid === "rocket.cat") {
    throw new ClientError(
      "error-action-not-allowed",
      "Deleting the rocket.cat user is not allowed",
      { details: { method: "deleteUser", action: "Delete_user" } },
    );
  }
  return services.accounts.deleting(async () => {
    const user = await services.deps.db.users.findOne({ _id: uid });
    if (!user) return false;
    await guard?.(user);
    await erase(services, by, user, confirmRelinquish);
    return true;
  });
}

/** The work of deleteUser, once its checks passed, for `user` as found in the store. */
async function erase(services: Services, by: User, user: User, confirmRelinquish: boolean) {
  const { db, hub, rooms, files } = services.deps;
  const uid = user._id;
  await relinquish(services, by, await plannedFates(services, uid, confirmRelinquish));

  const directs = await db.rooms.find({ t: "d", uids: uid }, { projection: { uids: 1 } });
  for (const room of directs) {
    const command =
      (room.uids?.length ?? 0) <= 2
        ? ({ kind: "lifecycle.erase", user: by, cascade: true } as const)
        : ({ kind: "account.remove", user } as const);
    await rooms.execute(room._id, command);
  }
  const mode = await eraseMessages(services, uid);
  for (const sub of await db.subscriptions.find({ "u._id": uid }, { projection: { rid: 1 } })) {
    await rooms.execute(sub.rid, { kind: "account.remove", user });
  }
  await files.bucket(AVATAR_BUCKET).delete(uid);
  await db.users.deleteOne({ _id: uid });
  await logoutEverywhere(services.deps, uid);
  if (mode !== "Keep") {
    hub.emit("stream-notify-logged", "Users:Deleted", [{ userId: uid, messageErasureType: mode }]);
  }
}

/**
 * Throws `error-action-not-allowed` (`Remove_last_admin`) when taking the `admin` role from
 * `user` would leave the workspace without an active administrator.
 */
export function assertAdminRoleRemovable(services: Services, user: User): Promise<void> {
  const why = "Leaving the app without admins is not allowed";
  return assertNotLastAdmin(services, user, "insertOrUpdateUser", why);
}

/** Whether a deletion of `user` by someone else would leave the workspace without admins. */
export function assertDeletable(services: Services, user: User): Promise<void> {
  const why = "Leaving the app without admins is not allowed";
  return assertNotLastAdmin(services, user, "deleteUser", why);
}
