/**
 * The counters of `channels.counters`, `groups.counters` and `im.counters`: how many
 * messages a member has not seen in a room, since when, how often they were mentioned,
 * and the room's totals, computed as Rocket.Chat computes them for each kind of room.
 */
import type { Room, Subscription } from "../core/models.ts";
import type { Deps } from "./context.ts";

/** The answer of the `*.counters` routes (without `success`). */
export interface RoomCounters {
  readonly joined: boolean;
  readonly members: number | null;
  readonly unreads: number | null;
  readonly unreadsFrom: Date | null;
  readonly msgs: number | null;
  readonly latest: Date | null;
  readonly userMentions: number | null;
}

/** The room's totals, shown to members and to holders of `view-room-administration`. */
function totals(room: Room, shown: boolean) {
  const latest = room.lm ?? room._updatedAt;
  return shown
    ? { msgs: room.msgs, latest, members: room.usersCount }
    : { msgs: null, latest: null, members: null };
}

/**
 * Counters of a channel or private group for the member `uid`. Only an open (not hidden)
 * subscription counts as joined. `unreads` counts the room's visible messages after the
 * member's last-seen time up to the last message, whoever sent them, as Rocket.Chat does;
 * Rocket.Chat includes a message stamped exactly at the last-seen time, which here is
 * already seen (a read moves last-seen onto the room's last message).
 */
export async function roomCounters(
  deps: Pick<Deps, "db">,
  room: Room,
  uid: string,
  administrator: boolean,
): Promise<RoomCounters> {
  const sub = await deps.db.subscriptions.findOne({ rid: room._id, "u._id": uid });
  const latest = room.lm ?? room._updatedAt;
  const joined = sub?.open === true;
  if (!sub || !joined) {
    return {
      joined,
      unreads: null,
      unreadsFrom: null,
      userMentions: null,
      ...totals(room, administrator),
    };
  }
  const from = sub.ls ?? sub.ts;
  const unreads = await deps.db.messages.countDocuments({
    rid: room._id,
    _hidden: { $ne: true },
    ts: { $gt: from, $lte: latest },
  });
  return {
    joined,
    unreads,
    unreadsFrom: from,
    userMentions: sub.userMentions,
    ...totals(room, true),
  };
}

/**
 * Counters of a direct message for the member `uid`: `unreads` is the subscription's own
 * counter, and `unreadsFrom` is only given once the room has messages.
 */
export async function directCounters(
  deps: Pick<Deps, "db">,
  room: Room,
  uid: string,
  administrator: boolean,
): Promise<RoomCounters> {
  const sub: Subscription | null = await deps.db.subscriptions.findOne({
    rid: room._id,
    "u._id": uid,
  });
  if (!sub) {
    const none = { unreads: null, unreadsFrom: null, userMentions: null };
    return { joined: false, ...none, ...totals(room, administrator) };
  }
  return {
    joined: true,
    unreads: sub.unread ?? null,
    unreadsFrom: sub.ls && room.msgs ? sub.ls : null,
    userMentions: sub.userMentions,
    ...totals(room, true),
  };
}
