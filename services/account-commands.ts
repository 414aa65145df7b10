/**
 * Room actor commands for changes to an account that reach into its rooms: handing the
 * room over to a new owner when its last owner is deactivated or deleted, and taking a
 * deleted user out of the room. Neither posts a system message, as in Rocket.Chat.
 */
import type { Room, User } from "../core/models.ts";
import { unsubscribe } from "./membership-commands.ts";
import { announceSubscription } from "./room-changes.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";

/** The account commands; each answers with the room. */
export type AccountCommand =
  /** Makes member `newOwner` an owner of the room. */
  | { readonly kind: "account.handOver"; readonly newOwner: string }
  /** Takes `user` out of the room; a direct message also drops them from its members. */
  | { readonly kind: "account.remove"; readonly user: User };

async function handOver(deps: CommandDeps, state: RoomState, newOwner: string) {
  if (!state.members.has(newOwner)) return { state, reply: state.room };
  const sub = await deps.db.subscriptions.findOneAndUpdate(
    { rid: state.room._id, "u._id": newOwner },
    { $addToSet: { roles: "owner" }, $set: { _updatedAt: deps.clock.now() } },
  );
  if (sub) announceSubscription(deps, sub);
  return { state, reply: state.room };
}

async function remove(deps: CommandDeps, state: RoomState, user: User) {
  if (!state.members.has(user._id)) return { state, reply: state.room };
  let next = await unsubscribe(deps, state, user);
  if (next.room.t === "d") {
    const room = await deps.db.rooms.findOneAndUpdate(
      { _id: next.room._id },
      { $pull: { uids: user._id, usernames: user.username } },
    );
    next = { ...next, room: room ?? next.room };
  }
  return { state: next, reply: next.room as Room };
}

export const accountHandlers: CommandHandlers<AccountCommand> = {
  "account.handOver": (deps, state, c) => handOver(deps, state, c.newOwner),
  "account.remove": (deps, state, c) => remove(deps, state, c.user),
};
