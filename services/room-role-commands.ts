/**
 * Role commands of the room actor: making a member an owner, moderator or leader of the
 * room and taking it back, with Rocket.Chat's checks and errors, the last-owner rule
 * (the one the leave and kick commands follow as well: a room keeps at least one owner),
 * the `subscription-role-added`/`-removed` system message, and the change told to the
 * member (`subscriptions-changed`) and, with `UI_DisplayRoles`, to everyone logged in
 * (`roles-change`).
 */
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import { announceSubscription, postSystemMessage } from "./room-changes.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";
import { mainTeamOf } from "./team-members.ts";

/** The roles a member may hold in a room, as getRoomRoles lists them. */
export const ROOM_ROLES = ["owner", "moderator", "leader"] as const;

export type RoomRole = (typeof ROOM_ROLES)[number];

/** The role commands; each answers with the room. */
export type RoomRoleCommand =
  | {
      readonly kind: "role.change";
      /** Who asks. */
      readonly by: User;
      /** Whose role changes. */
      readonly user: User;
      readonly role: RoomRole;
      readonly add: boolean;
    }
  | {
      /** A room role given or taken by an administrator through the roles routes. */
      readonly kind: "role.assign";
      readonly user: User;
      /** Any role of scope `Subscriptions`. */
      readonly role: string;
      readonly add: boolean;
    };

const PERMISSION: Record<RoomRole, string> = {
  owner: "set-owner",
  moderator: "set-moderator",
  leader: "set-leader",
};

/** Rocket.Chat's method of a role change (`addRoomOwner`, …), which its errors name. */
export function roleMethodName(role: RoomRole, add: boolean): string {
  const name = role.charAt(0).toUpperCase() + role.slice(1);
  return `${add ? "add" : "remove"}Room${name}`;
}

const ALREADY: Record<RoomRole, [string, string]> = {
  owner: ["error-user-already-owner", "User is already an owner"],
  moderator: ["error-user-already-moderator", "User is already a moderator"],
  leader: ["error-user-already-leader", "User is already a leader"],
};

const NOT_HOLDING: Record<RoomRole, [string, string]> = {
  owner: ["error-user-not-owner", "User is not an owner"],
  moderator: ["error-user-not-moderator", "User is not a moderator"],
  leader: ["error-user-not-leader", "User is not a leader"],
};

/**
 * Throws the error Rocket.Chat gives for a target who is not a member: removing an owner
 * or moderator answers `error-invalid-room`, everything else `error-user-not-in-room`.
 */
function notMember(role: RoomRole, add: boolean, method: string): ClientError {
  if (!add && role !== "leader") {
    return new ClientError("error-invalid-room", "Invalid room", { details: { method } });
  }
  return new ClientError("error-user-not-in-room", "User is not in this room", {
    details: { method },
  });
}

async function assertNotLastOwner(deps: CommandDeps, room: Room, method: string): Promise<void> {
  const owners = await deps.db.subscriptions.countDocuments({ rid: room._id, roles: "owner" });
  if (owners <= 1) {
    throw new ClientError(
      "error-remove-last-owner",
      "This is the last owner. Please set a new owner before removing this one.",
      { details: { method } },
    );
  }
}

/**
 * Gives `user` role `role` in the room (or, with `add` false, takes it back) as `by`.
 * Needs `set-owner`, `set-moderator` or `set-leader` in the room (`error-not-allowed`);
 * the target must be a member; adding a held role or removing one not held is refused;
 * the last owner cannot be removed (`error-remove-last-owner`).
 *
 * Unlike Rocket.Chat, removing a moderator or leader role from a member who holds no
 * roles at all is refused too, rather than posting that the role was removed.
 */
export async function changeRole(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<RoomRoleCommand, { kind: "role.change" }>,
): Promise<{ state: RoomState; reply: Room }> {
  const { room } = state;
  const method = roleMethodName(c.role, c.add);
  if (!(await deps.authz.can(c.by, PERMISSION[c.role], room._id))) {
    throw new ClientError("error-not-allowed", "Not allowed", { details: { method } });
  }
  const sub = state.members.has(c.user._id)
    ? await deps.db.subscriptions.findOne({ rid: room._id, "u._id": c.user._id })
    : null;
  if (!sub) throw notMember(c.role, c.add, method);
  const holds = sub.roles?.includes(c.role) === true;
  if (c.add && holds) {
    const [error, reason] = ALREADY[c.role];
    throw new ClientError(error, reason, { details: { method } });
  }
  if (!c.add && !holds) {
    const [error, reason] = NOT_HOLDING[c.role];
    throw new ClientError(error, reason, { details: { method } });
  }
  if (!c.add && c.role === "owner") await assertNotLastOwner(deps, room, method);

  const updated = await deps.db.subscriptions.findOneAndUpdate(
    { _id: sub._id },
    {
      ...(c.add ? { $addToSet: { roles: c.role } } : { $pull: { roles: c.role } }),
      $set: { _updatedAt: deps.clock.now() },
    },
  );
  if (updated) announceSubscription(deps, updated);
  const teamId = mainTeamOf(room);
  if (teamId && c.role !== "leader") {
    // A team's owners and moderators are its main room's: the team's record follows.
    await deps.db.teamMembers.updateOne(
      { teamId, userId: c.user._id },
      c.add ? { $addToSet: { roles: c.role } } : { $pull: { roles: c.role } },
    );
  }
  const t = c.add ? "subscription-role-added" : "subscription-role-removed";
  const next = await postSystemMessage(deps, state, c.by, t, c.user.username, { role: c.role });
  announceRole(deps, c.add, c.role, c.user, room._id, c.user.name);
  return { state: next, reply: next.room };
}

/** Tells everyone logged in, with `UI_DisplayRoles`, that `user` got or lost `role` here. */
function announceRole(
  deps: CommandDeps,
  add: boolean,
  role: string,
  user: User,
  rid: string,
  name?: string,
): void {
  if (deps.settings.get<boolean>("UI_DisplayRoles") === false) return;
  const u = { _id: user._id, username: user.username, ...(name !== undefined && { name }) };
  const event = { type: add ? "added" : "removed", _id: role, u, scope: rid };
  deps.hub.emit("stream-notify-logged", "roles-change", [event]);
}

/**
 * Gives `user` room role `role` on their subscription (or, with `add` false, takes it
 * back) for the roles routes, which checked the caller's `access-permissions`. As in
 * Rocket.Chat no system message is posted; the member hears `subscriptions-changed` and,
 * with `UI_DisplayRoles`, everyone logged in hears `roles-change` with the room as `scope`.
 * Throws `error-invalid-user` for a non-member, `error-user-already-in-role`,
 * `error-user-not-in-role`, and, unlike Rocket.Chat, `error-remove-last-owner`, since a
 * room keeps at least one owner.
 */
async function assignRole(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<RoomRoleCommand, { kind: "role.assign" }>,
): Promise<{ state: RoomState; reply: Room }> {
  const { room } = state;
  const sub = state.members.has(c.user._id)
    ? await deps.db.subscriptions.findOne({ rid: room._id, "u._id": c.user._id })
    : null;
  const holds = sub?.roles?.includes(c.role) === true;
  if (c.add && !sub) {
    throw new ClientError("error-invalid-user", "User is not part of given room", {
      details: { method: "authorization:addUserToRole" },
    });
  }
  if (c.add && holds) throw new ClientError("error-user-already-in-role", "User already in role");
  if (!c.add && !holds) throw new ClientError("error-user-not-in-role", "User is not in this role");
  if (!c.add && c.role === "owner") {
    await assertNotLastOwner(deps, room, "authorization:removeUserFromRole");
  }

  const updated = await deps.db.subscriptions.findOneAndUpdate(
    { rid: room._id, "u._id": c.user._id },
    {
      ...(c.add ? { $addToSet: { roles: c.role } } : { $pull: { roles: c.role } }),
      $set: { _updatedAt: deps.clock.now() },
    },
  );
  if (updated) announceSubscription(deps, updated);
  announceRole(deps, c.add, c.role, c.user, room._id);
  return { state, reply: room };
}

export const roomRoleHandlers: CommandHandlers<RoomRoleCommand> = {
  "role.change": (deps, state, c) => changeRole(deps, state, c),
  "role.assign": (deps, state, c) => assignRole(deps, state, c),
};
