/**
 * Unread bookkeeping on send: what a new message does to the subscriptions of its room,
 * as Rocket.Chat counts it. Every other member is alerted and the room reopens for them;
 * `unread` grows by the rules of the `Unread_Count` settings; `userMentions` and
 * `groupMentions` count mentions; the sender's own subscription is marked read. Runs inside
 * the room actor, after the message is stored, so that it is ordered with the room's reads.
 */
import type { Message, Room, RoomType, Subscription } from "../core/models.ts";
import type { CommandDeps } from "./room-commands.ts";

/** The values of Rocket.Chat's `Unread_Count` and `Unread_Count_DM` settings. */
export type UnreadCount =
  | "all_messages"
  | "user_mentions_only"
  | "group_mentions_only"
  | "user_and_group_mentions_only"
  | "mentions_only";

/** What a message mentions, as far as counting is concerned. */
export interface MentionSummary {
  /** Mentioned users other than the sender. */
  readonly userIds: readonly string[];
  /** `@all` or `@here` was mentioned. */
  readonly group: boolean;
}

/** The mentions of `message` that count: users other than the sender, and `@all`/`@here`. */
export function mentionSummary(message: Message): MentionSummary {
  // Team mentions would need the team's members; Parley has no teams, so they count for no one.
  const ids = (message.mentions ?? []).filter((m) => m.type !== "team").map((m) => m._id);
  const group = ids.includes("all") || ids.includes("here");
  const userIds = [...new Set(ids)].filter(
    (id) => id !== "all" && id !== "here" && id !== message.u._id,
  );
  return { userIds, group };
}

/** The setting that governs unread counting in rooms of type `t`, with its default. */
export function unreadCountFor(settings: CommandDeps["settings"], t: RoomType): UnreadCount {
  if (t === "d") return settings.get<UnreadCount>("Unread_Count_DM") ?? "all_messages";
  return settings.get<UnreadCount>("Unread_Count") ?? "user_and_group_mentions_only";
}

/** By how much one message grows `unread` for a user it mentions by name, and for `@all`. */
function increments(t: RoomType, setting: UnreadCount): { user: number; group: number } {
  const always = t === "d";
  const byUser = ["all_messages", "user_mentions_only", "user_and_group_mentions_only"];
  const byGroup = ["all_messages", "group_mentions_only", "user_and_group_mentions_only"];
  return {
    user: always || byUser.includes(setting) ? 1 : 0,
    group: always || byGroup.includes(setting) ? 1 : 0,
  };
}

/**
 * The last-seen time that marks room `room` read now. It is at or after the room's last
 * message, so everything so far counts as seen, and a millisecond before the clock, so
 * that every later message (stamped at or after the clock, and after `room.lm`) is after
 * it. Unread counts and "sent after my last read" therefore always agree.
 */
export function seenUpTo(now: Date, room: Room): Date {
  const justBefore = now.getTime() - 1;
  return new Date(room.lm && room.lm.getTime() > justBefore ? room.lm.getTime() : justBefore);
}

/** What messages did to one member's subscription, folded in their order. */
interface MemberFold {
  /** When the member's own latest message marked the room read for them, if they sent one. */
  seen: Date | null;
  /** Counter increments since then (or since the batch began). */
  readonly inc: Record<"unread" | "userMentions" | "groupMentions", number>;
  /** Touched by a message from someone else since then. */
  alerted: boolean;
  /** Counted by a message (steps with increments), so the subscription changes even when already alerted. */
  counted: boolean;
}

/**
 * Records `messages`, just stored in `room` in this order, in the subscriptions of the
 * room's `members` and announces each changed subscription on
 * `<uid>/subscriptions-changed`, once per subscription however many messages changed it.
 * Every thread reply is left to the thread bookkeeping, one also shown in the room
 * (`tshow`) included: Rocket.Chat counts neither in the room's unread or mention counters.
 *
 * Rocket.Chat's rules, with the defaults: a user mention grows the mentioned members'
 * `userMentions` and (by default) `unread`; otherwise `@all`/`@here` grows every other
 * member's `groupMentions` and (by default) `unread`; a message without mentions grows
 * `unread` only where the setting says `all_messages` (direct messages by default). Every
 * other member is alerted and the room reopens for them; the sender's own subscription is
 * marked read. Several messages give what they would one after another: a member who
 * sent one is read up to it, then counts what the others sent after it.
 *
 * Limitation: a member's highlight words (Rocket.Chat's `userHighlights` preference) do
 * not count as mentions, because Parley does not store that preference yet; a message
 * containing them alerts that member like any other message, without a mention count.
 */
export async function recordUnread(
  deps: CommandDeps,
  room: Room,
  members: Iterable<string>,
  messages: readonly Message[],
): Promise<void> {
  const counted = messages.filter((m) => m.tmid === undefined);
  const last = counted.at(-1);
  if (!last) return;
  const folds = foldUnread(deps, room, members, counted);
  const { subscriptions } = deps.db;
  const rid = room._id;
  const stamp = last.ts;
  const alerted = { alert: true, open: true, _updatedAt: stamp };

  const writes: Promise<unknown>[] = [];
  const byIncrement = new Map<string, { inc: MemberFold["inc"]; uids: string[] }>();
  // Members no message counted need only be alerted, if they are not yet; they are found
  // by excluding the others, a short list, rather than by naming them all.
  const others: string[] = [];
  let untouched = false;
  for (const [uid, fold] of folds) {
    if (fold.seen) {
      const read = readState(fold.seen, fold.alerted);
      const fields = { ...read, ...fold.inc, _updatedAt: stamp };
      writes.push(subscriptions.updateOne({ rid, "u._id": uid }, { $set: fields }));
      others.push(uid);
    } else if (fold.counted) {
      const key = JSON.stringify(fold.inc);
      const group = byIncrement.get(key) ?? { inc: fold.inc, uids: [] };
      group.uids.push(uid);
      byIncrement.set(key, group);
      others.push(uid);
    } else untouched = true;
  }
  for (const { inc, uids } of byIncrement.values()) {
    const grown = Object.fromEntries(Object.entries(inc).filter(([, n]) => n !== 0));
    const update = { $set: alerted, $inc: grown };
    writes.push(subscriptions.updateMany({ rid, "u._id": { $in: uids } }, update));
  }
  if (untouched) {
    writes.push(
      subscriptions.updateMany(
        {
          rid,
          "u._id": { $nin: others },
          $or: [{ alert: { $ne: true } }, { open: { $ne: true } }],
        },
        { $set: alerted },
      ),
    );
  }
  // The writes touch distinct subscriptions, so they may run together (one group commit).
  await Promise.all(writes);

  // Every write above stamped `_updatedAt` with the last message's time, which no other
  // message of this room shares (the room actor gives each a distinct, increasing ts).
  const changed = await subscriptions.find({ rid, _updatedAt: stamp });
  for (const sub of changed) announce(deps, sub);
}

/** Each member's counters after `messages`, one after another; a member no message touched is left out. */
function foldUnread(
  deps: CommandDeps,
  room: Room,
  members: Iterable<string>,
  messages: readonly Message[],
): Map<string, MemberFold> {
  const setting = unreadCountFor(deps.settings, room.t);
  const inc = increments(room.t, setting);
  const now = deps.clock.now();
  const folds = new Map<string, MemberFold>();
  for (const uid of members) {
    folds.set(uid, {
      seen: null,
      inc: { unread: 0, userMentions: 0, groupMentions: 0 },
      alerted: false,
      counted: false,
    });
  }
  for (const [i, message] of messages.entries()) {
    const { userIds, group } = mentionSummary(message);
    const named = new Set(userIds);
    // Read up to the sender's own message: the next one of the batch is stamped after it,
    // and messages stamped later still after the clock, as seenUpTo requires.
    const seen =
      i === messages.length - 1 ? seenUpTo(now, { ...room, lm: message.ts }) : message.ts;
    for (const [uid, fold] of folds) {
      if (uid === message.u._id) {
        fold.seen = seen;
        Object.assign(fold.inc, { unread: 0, userMentions: 0, groupMentions: 0 });
        fold.alerted = false;
        continue;
      }
      fold.alerted = true;
      if (named.has(uid)) {
        fold.inc.unread += inc.user;
        fold.inc.userMentions += 1;
      } else if (named.size === 0 && group) {
        fold.inc.unread += inc.group;
        fold.inc.groupMentions += 1;
      } else if (!group && setting === "all_messages") {
        fold.inc.unread += 1;
      } else continue;
      fold.counted = true;
    }
  }
  return folds;
}

/** The fields that mark a subscription read up to `ls`, with the alert left as given. */
export function readState(ls: Date, alert = false) {
  return { open: true, alert, unread: 0, userMentions: 0, groupMentions: 0, ls };
}

/** Tells the subscription's user that it changed. */
export function announce(deps: Pick<CommandDeps, "hub">, sub: Subscription): void {
  deps.hub.emit("stream-notify-user", `${sub.u._id}/subscriptions-changed`, ["updated", sub]);
}
