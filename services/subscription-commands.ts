/**
 * Subscription commands of the room actor: marking a room read or unread for one member,
 * hiding and reopening it, and making it a favourite. They run in the room's actor, in
 * order with its messages, so that a read never races a send: every message is either
 * before the reader's new last-seen time and cleared, or after it and counted.
 */
import { ClientError } from "../core/errors.ts";
import type { Room, Subscription, User } from "../core/models.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";
import { announce, readState, seenUpTo } from "./unread.ts";

/** The subscription commands; each answers how many subscriptions it changed (0 or 1). */
export type SubscriptionCommand =
  | { readonly kind: "sub.read"; readonly user: User; readonly readThreads?: boolean }
  | {
      readonly kind: "sub.unread";
      readonly user: User;
      /** The first message to show unread; absent means the room's last message. */
      readonly firstUnreadId?: string;
    }
  | { readonly kind: "sub.hide"; readonly user: User }
  | { readonly kind: "sub.open"; readonly user: User }
  | { readonly kind: "sub.favorite"; readonly user: User; readonly favorite: boolean };

type Outcome = Promise<{ state: RoomState; reply: number }>;

function subscriptionOf(deps: CommandDeps, room: Room, uid: string) {
  return deps.db.subscriptions.findOne({ rid: room._id, "u._id": uid });
}

/** Applies `set` (and `unset`) to `user`'s subscription and announces it when it changed. */
async function change(
  deps: CommandDeps,
  state: RoomState,
  filter: Record<string, unknown>,
  set: Record<string, unknown>,
  unset?: Record<string, "">,
): Outcome {
  const now = deps.clock.now();
  const sub = await deps.db.subscriptions.findOneAndUpdate(
    { rid: state.room._id, ...filter },
    { $set: { ...set, _updatedAt: now }, ...(unset && { $unset: unset }) },
  );
  if (sub) announce(deps, sub);
  return { state, reply: sub ? 1 : 0 };
}

/** The earliest last-seen time among the room's members, or undefined for an empty room. */
async function everyoneSeen(deps: CommandDeps, rid: string): Promise<Date | undefined> {
  const [first] = await deps.db.subscriptions.find(
    { rid },
    { sort: { ls: 1 }, limit: 1, projection: { ls: 1 } },
  );
  return first?.ls;
}

/**
 * Marks the room read for `user`: counters cleared, alert off unless thread replies stay
 * unread (and `readThreads` was not asked), last-seen moved to now. When this reader was
 * the last to see some messages, `<rid>/messagesRead` tells the room how far everyone has
 * read, as Rocket.Chat's read receipts do. Throws Rocket.Chat's bare
 * `error-invalid-subscription` for a non-member.
 */
export async function markRead(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  readThreads: boolean,
): Outcome {
  const { room } = state;
  const sub = state.members.has(user._id) ? await subscriptionOf(deps, room, user._id) : null;
  if (!sub) {
    throw new ClientError("error-invalid-subscription", "error-invalid-subscription", {
      plain: true,
    });
  }
  const before = await everyoneSeen(deps, room._id);
  const threadsUnread = Array.isArray(sub.tunread) && sub.tunread.length > 0;
  const alert = sub.alert && !readThreads && threadsUnread;
  const threads = { tunread: "", tunreadUser: "", tunreadGroup: "" } as const;
  const seen = seenUpTo(deps.clock.now(), room);
  const outcome = await change(
    deps,
    state,
    { "u._id": user._id },
    readState(seen, alert),
    readThreads ? threads : undefined,
  );

  const until = await everyoneSeen(deps, room._id);
  if (before && until && until > before) {
    const ts = { $gt: before, $lte: until };
    const newlyRead = await deps.db.messages.findOne(
      { rid: room._id, ts },
      { projection: { _id: 1 } },
    );
    if (newlyRead) deps.hub.emit("stream-notify-room", `${room._id}/messagesRead`, [{ until }]);
  }
  return outcome;
}

/**
 * Marks messages unread for `user` from `firstUnreadId` on, or only the room's last
 * message when no id is given: last-seen moves just before that message, the room is
 * alerted and open, and `unread` is 1, as Rocket.Chat sets it. Throws Rocket.Chat's
 * errors: `error-no-message-for-unread` for a room without messages,
 * `error-action-not-allowed` for a missing message or one of the caller's own, and
 * `error-subscription-not-found` for a non-member. A message already unread changes nothing.
 */
export async function markUnread(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  firstUnreadId: string | undefined,
): Outcome {
  const details = { method: "unreadMessages", action: "Unread_messages" };
  const rid = state.room._id;
  if (firstUnreadId === undefined) {
    const visible = { rid, _hidden: { $ne: true } };
    const [last] = await deps.db.messages.find(visible, { sort: { ts: -1 }, limit: 1 });
    if (!last) {
      throw new ClientError("error-no-message-for-unread", "There are no messages to mark unread", {
        details,
      });
    }
    return setUnread(deps, state, user._id, last.ts);
  }
  const message = await deps.db.messages.findOne({ _id: firstUnreadId, rid });
  if (!message || message.u._id === user._id) {
    throw new ClientError("error-action-not-allowed", "Not allowed", { details });
  }
  const sub = await subscriptionOf(deps, state.room, user._id);
  if (!sub)
    throw new ClientError("error-subscription-not-found", "Subscription not found", { details });
  if (message.ts >= sub.ls) return { state, reply: 0 };
  return setUnread(deps, state, user._id, message.ts);
}

function setUnread(deps: CommandDeps, state: RoomState, uid: string, firstTs: Date): Outcome {
  const ls = new Date(firstTs.getTime() - 1);
  return change(deps, state, { "u._id": uid }, { open: true, alert: true, ls, unread: 1 });
}

/** Hides the room from `user`'s list (open and alert off); 0 when it was hidden already. */
export function hide(deps: CommandDeps, state: RoomState, user: User): Outcome {
  return change(deps, state, { "u._id": user._id, open: true }, { open: false, alert: false });
}

/** Shows the room in `user`'s list again; 0 when it was open already or not joined. */
export function open(deps: CommandDeps, state: RoomState, user: User): Outcome {
  return change(deps, state, { "u._id": user._id, open: { $ne: true } }, { open: true });
}

/**
 * Sets or clears `user`'s favourite mark (`f`). Throws Rocket.Chat's
 * `error-invalid-subscription` for a non-member; 0 when the mark was already so.
 */
export async function favorite(
  deps: CommandDeps,
  state: RoomState,
  user: User,
  f: boolean,
): Outcome {
  const sub: Subscription | null = await subscriptionOf(deps, state.room, user._id);
  if (!sub) {
    throw new ClientError(
      "error-invalid-subscription",
      "You must be part of a room to favorite it",
      {
        details: { method: "toggleFavorite" },
      },
    );
  }
  if (sub.f === f) return { state, reply: 0 };
  return change(deps, state, { "u._id": user._id }, { f });
}

export const subscriptionHandlers: CommandHandlers<SubscriptionCommand> = {
  "sub.read": (deps, state, c) => markRead(deps, state, c.user, c.readThreads ?? false),
  "sub.unread": (deps, state, c) => markUnread(deps, state, c.user, c.firstUnreadId),
  "sub.hide": (deps, state, c) => hide(deps, state, c.user),
  "sub.open": (deps, state, c) => open(deps, state, c.user),
  "sub.favorite": (deps, state, c) => favorite(deps, state, c.user, c.favorite),
};
