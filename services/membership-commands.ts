/**
 * Membership commands of the room actor: joining, leaving, adding and removing members,
 * with the last-owner rule and the system message each change posts.
 */
import { ClientError } from "../core/errors.ts";
import type { Subscription, User } from "../core/models.ts";
import { DuplicateKeyError } from "../store/types.ts";
import { persistMessage, systemMessage } from "./message-commands.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";
import { newSubscription, roomView } from "./rooms.ts";
import { dropTeamMember, mainTeamOf, membershipNotice, recordTeamMember } from "./team-members.ts";

/**
 * Subscribes `user` to the room and announces it to them. In a team's main room the
 * user joins the team too, recorded as added by `by` with `roles`.
 */
export async function subscribe(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  by: User = user,
  roles: readonly string[] = [],
): Promise<RoomState> {
  const sub: Subscription = newSubscription(deps, state.room, user);
  await deps.db.subscriptions.insertOne(sub);
  const teamId = mainTeamOf(state.room);
  if (teamId) await recordTeamMember(deps, teamId, user._id, by, roles);
  const room =
    (await deps.db.rooms.findOneAndUpdate({ _id: state.room._id }, { $inc: { usersCount: 1 } })) ??
    state.room;
  deps.hub.emit("stream-notify-user", `${user._id}/rooms-changed`, ["inserted", roomView(room)]);
  deps.hub.emit("stream-notify-user", `${user._id}/subscriptions-changed`, ["inserted", sub]);
  return { room, members: new Set([...state.members, user._id]) };
}

/**
 * Deletes `user`'s subscription, counts them out and tells them and their sessions. In a
 * team's main room the user leaves the team too.
 */
export async function unsubscribe(
  deps: CommandDeps,
  state: RoomState,
  user: User,
): Promise<RoomState> {
  const sub = await deps.db.subscriptions.findOne(
    { rid: state.room._id, "u._id": user._id },
    { projection: { _id: 1 } },
  );
  await deps.db.subscriptions.deleteOne({ rid: state.room._id, "u._id": user._id });
  const teamId = mainTeamOf(state.room);
  if (teamId) await dropTeamMember(deps, teamId, user._id);
  const room =
    (await deps.db.rooms.findOneAndUpdate({ _id: state.room._id }, { $inc: { usersCount: -1 } })) ??
    state.room;
  deps.hub.emit("stream-notify-user", `${user._id}/rooms-changed`, ["removed", { _id: room._id }]);
  deps.hub.emit("stream-notify-user", `${user._id}/subscriptions-changed`, [
    "removed",
    { _id: sub?._id, u: { _id: user._id }, rid: room._id, t: room.t },
  ]);
  deps.hub.signal(user._id, { type: "room-access-revoked", rid: room._id });
  const members = new Set(state.members);
  members.delete(user._id);
  return { room, members };
}

async function assertNotLastOwner(deps: CommandDeps, state: RoomState, user: User): Promise<void> {
  const owners = await deps.db.subscriptions.find(
    { rid: state.room._id, roles: "owner" },
    { projection: { "u._id": 1 } },
  );
  const isOwner = owners.some((o) => o.u._id === user._id);
  if (isOwner && owners.length === 1 && state.members.size > 1) {
    throw new ClientError(
      "error-you-are-last-owner",
      "You are the last owner. Please set new owner before leaving the room.",
    );
  }
}

export async function joinRoom(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  joinCode: string | undefined,
  silent: boolean,
  asDefault: boolean,
) {
  const { room } = state;
  if (state.members.has(user._id)) return { state, reply: room };
  if (!asDefault && (room.t !== "c" || !(await deps.authz.canAccessRoom(room, user)))) {
    throw new ClientError("error-not-allowed", "Not allowed", { details: { method: "joinRoom" } });
  }
  if (
    !asDefault &&
    typeof room.joinCode === "string" &&
    room.joinCode !== "" &&
    room.joinCode !== joinCode
  ) {
    throw new ClientError("error-code-invalid", "Invalid Room Password", {
      details: { method: "joinRoom" },
    });
  }
  let next: RoomState;
  try {
    next = await subscribe(deps, state, user);
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
    // Subscribed meanwhile outside this actor, as a new discussion's members are: the
    // user is already a member, which the state now knows, and nothing was written.
    return { state: { ...state, members: new Set([...state.members, user._id]) }, reply: room };
  }
  if (!silent)
    next = await persistMessage(
      deps,
      next,
      systemMessage(deps, next.room, membershipNotice(next.room, "uj"), user, user.username),
      false,
    );
  return { state: next, reply: next.room };
}

export async function leaveRoom(deps: CommandDeps, state: RoomState, user: User) {
  if (!state.members.has(user._id)) {
    throw new ClientError("error-user-not-in-room", "You are not in this room", {
      details: { method: "leaveRoom" },
    });
  }
  if (state.room.t === "d")
    throw new ClientError("error-not-allowed", "Not allowed", { details: { method: "leaveRoom" } });
  await deps.authz.require(user, state.room.t === "c" ? "leave-c" : "leave-p");
  await assertNotLastOwner(deps, state, user);
  let next = await unsubscribe(deps, state, user);
  next = await persistMessage(
    deps,
    next,
    systemMessage(deps, next.room, membershipNotice(next.room, "ul"), user, user.username),
    false,
  );
  return { state: next, reply: next.room };
}

export async function addMembers(
  deps: CommandDeps,
  state: RoomState,
  by: User,
  users: readonly User[],
) {
  const { room } = state;
  const anyRoom = room.t === "c" ? "add-user-to-any-c-room" : "add-user-to-any-p-room";
  const allowed =
    (await deps.authz.can(by, anyRoom)) ||
    (state.members.has(by._id) && (await deps.authz.can(by, "add-user-to-joined-room", room._id)));
  if (!allowed || room.t === "d") {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "addUsersToRoom" },
    });
  }
  let next = state;
  for (const user of users) {
    if (next.members.has(user._id)) continue;
    next = await subscribe(deps, next, user, by);
    next = await persistMessage(
      deps,
      next,
      systemMessage(deps, next.room, membershipNotice(next.room, "au"), by, user.username),
      false,
    );
  }
  return { state: next, reply: next.room };
}

export async function removeMember(deps: CommandDeps, state: RoomState, by: User, user: User) {
  if (!(await deps.authz.can(by, "remove-user", state.room._id)) || state.room.t === "d") {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "removeUserFromRoom" },
    });
  }
  if (!state.members.has(user._id)) {
    throw new ClientError("error-user-not-in-room", "User is not in this room", {
      details: { method: "removeUserFromRoom" },
    });
  }
  await assertNotLastOwner(deps, state, user);
  let next = await unsubscribe(deps, state, user);
  next = await persistMessage(
    deps,
    next,
    systemMessage(deps, next.room, membershipNotice(next.room, "ru"), by, user.username),
    false,
  );
  return { state: next, reply: next.room };
}

/** The membership commands of a room actor; each answers with the room. */
export type MembershipCommand =
  | {
      readonly kind: "join";
      readonly user: User;
      readonly joinCode?: string;
      readonly silent?: boolean;
      /**
       * A new account joining a default room: Rocket.Chat subscribes new users to default
       * rooms unconditionally, so neither the permission nor a join code is checked.
       */
      readonly asDefault?: boolean;
    }
  | { readonly kind: "leave"; readonly user: User }
  | { readonly kind: "add"; readonly by: User; readonly users: readonly User[] }
  | { readonly kind: "remove"; readonly by: User; readonly user: User };

export const membershipHandlers: CommandHandlers<MembershipCommand> = {
  join: (deps, state, c) =>
    joinRoom(deps, state, c.user, c.joinCode, c.silent ?? false, c.asDefault ?? false),
  leave: (deps, state, c) => leaveRoom(deps, state, c.user),
  add: (deps, state, c) => addMembers(deps, state, c.by, c.users),
  remove: (deps, state, c) => removeMember(deps, state, c.by, c.user),
};
