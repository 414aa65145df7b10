/**
 * Messaging reads: history, single messages, and read state. Writes go through the room
 * actor (room-commands.ts); marking a room read touches only the reader's subscription,
 * so it happens here.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User } from "../core/models.ts";
import type { Sort } from "../store/types.ts";
import type { Authz } from "./authz.ts";
import type { Deps } from "./context.ts";

export interface HistoryQuery {
  /** Only messages before this time (default: now). */
  readonly latest?: Date;
  /** Only messages after this time. */
  readonly oldest?: Date;
  /** Include messages exactly at `latest` and `oldest`. */
  readonly inclusive?: boolean;
  readonly offset?: number;
  /** Page size (default 20). Below 1 it takes the default: the store reads 0 as no limit. */
  readonly count?: number;
  /** Include thread replies (messages with `tmid`); true unless said otherwise. */
  readonly showThreadMessages?: boolean;
}

/** Filters of the `*.messages` routes: mentioned users, starring users, pinned only. */
export interface MessageFilter {
  readonly mentionIds?: readonly string[];
  readonly starredIds?: readonly string[];
  readonly pinned?: boolean;
}

function pageSize(count: number | undefined): number {
  return count !== undefined && count >= 1 ? count : 20;
}

export class Messages {
  constructor(
    private readonly deps: Deps,
    private readonly authz: Authz,
  ) {}

  /** Throws `error-not-allowed` unless `user` may read `room`. */
  async assertCanRead(room: Room, user: User | null): Promise<void> {
    if (!(await this.authz.canAccessRoom(room, user))) {
      throw new ClientError("error-not-allowed", "Not allowed", { details: { rid: room._id } });
    }
  }

  /** A room's messages between `oldest` and `latest`, newest first. */
  history(rid: string, query: HistoryQuery = {}): Promise<Message[]> {
    const ts: Record<string, Date> = {};
    if (query.latest) ts[query.inclusive ? "$lte" : "$lt"] = query.latest;
    if (query.oldest) ts[query.inclusive ? "$gte" : "$gt"] = query.oldest;
    return this.deps.db.messages.find(
      {
        rid,
        ...(Object.keys(ts).length > 0 && { ts }),
        _hidden: { $ne: true },
        ...(query.showThreadMessages === false && { tmid: { $exists: false } }),
      },
      { sort: { ts: -1 }, skip: query.offset ?? 0, limit: pageSize(query.count) },
    );
  }

  /** One page of a room's messages, newest first, with the total count. */
  async page(
    rid: string,
    offset: number,
    count: number,
  ): Promise<{ messages: Message[]; total: number }> {
    const filter = { rid, _hidden: { $ne: true } };
    const [messages, total] = await Promise.all([
      this.deps.db.messages.find(filter, { sort: { ts: -1 }, skip: offset, limit: count }),
      this.deps.db.messages.countDocuments(filter),
    ]);
    return { messages, total };
  }

  /**
   * One page of room `rid`'s messages that pass `filter`, newest first unless `sort` says
   * otherwise, with the number of all that pass.
   */
  async list(
    rid: string,
    page: { offset: number; count: number; sort?: Sort; filter?: MessageFilter },
  ): Promise<{ messages: Message[]; total: number }> {
    const { mentionIds, starredIds, pinned } = page.filter ?? {};
    const query = {
      rid,
      _hidden: { $ne: true },
      ...(mentionIds?.length && { "mentions._id": { $in: [...mentionIds] } }),
      ...(starredIds?.length && { "starred._id": { $in: [...starredIds] } }),
      ...(pinned && { pinned: true }),
    };
    const [messages, total] = await Promise.all([
      this.deps.db.messages.find(query, {
        sort: page.sort ?? { ts: -1 },
        skip: page.offset,
        limit: page.count,
      }),
      this.deps.db.messages.countDocuments(query),
    ]);
    return { messages, total };
  }

  /**
   * The unread messages a history page left out: those after `oldest` and before
   * `before` (the oldest message loaded). Answers the first of them and how many there are.
   */
  async unreadBefore(
    rid: string,
    oldest: Date,
    before: Date,
  ): Promise<{ first?: Message; count: number }> {
    const query = { rid, _hidden: { $ne: true }, ts: { $gt: oldest, $lt: before } };
    const [first] = await this.deps.db.messages.find(query, { sort: { ts: 1 }, limit: 1 });
    return { ...(first && { first }), count: await this.deps.db.messages.countDocuments(query) };
  }

  /** The message with id `msgId`, or null. */
  byId(msgId: string): Promise<Message | null> {
    return this.deps.db.messages.findOne({ _id: msgId });
  }

  /**
   * Marks room `rid` read for `user`: clears the unread counters and tells the user's
   * other connections. Throws `error-invalid-subscription` when the user is not a member.
   */
  async markRead(rid: string, user: User): Promise<void> {
    const now = this.deps.clock.now();
    // Read up to the room's last message even when the room actor stamped it a few
    // milliseconds ahead of the clock (see nextMessageTime), or it would stay unread.
    const room = await this.deps.db.rooms.findOne({ _id: rid }, { projection: { lm: 1 } });
    const seen = room?.lm && room.lm > now ? room.lm : now;
    const sub = await this.deps.db.subscriptions.findOneAndUpdate(
      { rid, "u._id": user._id },
      {
        $set: {
          unread: 0,
          alert: false,
          userMentions: 0,
          groupMentions: 0,
          ls: seen,
          lr: seen,
          _updatedAt: now,
        },
      },
    );
    // Rocket.Chat throws the bare code here, so REST shows `error: "error-invalid-subscription"`.
    if (!sub)
      throw new ClientError("error-invalid-subscription", "error-invalid-subscription", {
        plain: true,
      });
    this.deps.hub.emit("stream-notify-user", `${user._id}/subscriptions-changed`, ["updated", sub]);
    this.deps.hub.emit("stream-notify-room", `${rid}/messagesRead`, [{ until: now }]);
  }
}
