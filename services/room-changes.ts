/**
 * What the room-settings, role and lifecycle commands share: writing the room document
 * and keeping the actor's state in step, posting a system message, and telling the
 * members that their room or their subscription changed.
 */
import { ClientError } from "../core/errors.ts";
import type { Subscription, User } from "../core/models.ts";
import type { Update } from "../store/types.ts";
import { persistMessage, systemMessage } from "./message-commands.ts";
import type { CommandDeps, RoomState } from "./room-commands.ts";
import { roomView } from "./rooms.ts";

/** The error of a room that disappeared under a command. */
export function roomGone(): ClientError {
  return new ClientError("error-invalid-room", "Invalid room");
}

/**
 * Applies `update` to the room (stamping `_updatedAt`) and answers the state with the
 * room as stored now. Throws `error-invalid-room` when the room is gone.
 */
export async function updateRoom(
  deps: CommandDeps,
  state: RoomState,
  update: Update,
): Promise<RoomState> {
  const set = (update.$set ?? {}) as Record<string, unknown>;
  const room = await deps.db.rooms.findOneAndUpdate(
    { _id: state.room._id },
    { ...update, $set: { ...set, _updatedAt: deps.clock.now() } },
  );
  if (!room) throw roomGone();
  return { ...state, room };
}

/**
 * Applies `set` to every subscription of the room (stamping `_updatedAt`), as a change of
 * the room's name, type, custom fields or archive state requires.
 */
export async function updateSubscriptions(
  deps: CommandDeps,
  state: RoomState,
  set: Record<string, unknown>,
): Promise<void> {
  await deps.db.subscriptions.updateMany(
    { rid: state.room._id },
    { $set: { ...set, _updatedAt: deps.clock.now() } },
  );
}

/** Posts system message `t` with text `msg` by `user`, plus `extra` fields; bumps `msgs`. */
export function postSystemMessage(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  t: string,
  msg: string,
  extra: Record<string, unknown> = {},
): Promise<RoomState> {
  const message = { ...systemMessage(deps, state.room, t, user, msg), ...extra };
  return persistMessage(deps, state, message, false);
}

/** Tells `sub`'s user that their subscription changed. */
export function announceSubscription(deps: CommandDeps, sub: Subscription): void {
  deps.hub.emit("stream-notify-user", `${sub.u._id}/subscriptions-changed`, ["updated", sub]);
}

/**
 * Tells every member that the room changed (`rooms-changed`, without secrets such as the
 * join code) and, with `subscriptions`, that their subscription changed too.
 */
export async function announceRoom(
  deps: CommandDeps,
  state: RoomState,
  subscriptions = false,
): Promise<void> {
  const room = roomView(state.room);
  const subs = subscriptions
    ? await deps.db.subscriptions.find({ rid: state.room._id })
    : [...state.members].map((_id) => ({ u: { _id } }));
  for (const sub of subs) {
    deps.hub.emit("stream-notify-user", `${sub.u._id}/rooms-changed`, ["updated", room]);
    if (subscriptions) announceSubscription(deps, sub as Subscription);
  }
}
