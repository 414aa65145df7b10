/**
 * Messaging reads: history and single messages. Writes go through the room actor
 * (room-commands.ts), marking a room read included (subscription-commands.ts).
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, User } from "../core/models.ts";
import type { FindOptions, Sort } from "../store/types.ts";
import type { Authz } from "./authz.ts";
import type { Deps } from "./context.ts";

/**
 * Finds the message `_id` (in room `rid` when given) that a client may refer to, or null.
 * Old versions kept as edit history and messages deleted while Message_KeepHistory is on
 * stay in the store as hidden copies (`_hidden: true`); they answer as missing, so that no
 * client can quote, reply to, follow or start a discussion from them. Lookups of a message
 * by an id a client gave, in services and in room actors alike, go through here.
 */
export function referableMessage(
  db: Deps["db"],
  _id: string,
  rid?: string,
  options?: FindOptions,
): Promise<Message | null> {
  return db.messages.findOne(
    { _id, ...(rid !== undefined && { rid }), _hidden: { $ne: true } },
    options,
  );
}

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
  /** Include thread replies kept in their thread (no `tshow`); true unless said otherwise. */
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
        ...(query.showThreadMessages === false && {
          $or: [{ tmid: { $exists: false } }, { tshow: true }],
        }),
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

  /** The message with id `msgId` that a client may refer to (see referableMessage), or null. */
  byId(msgId: string): Promise<Message | null> {
    return referableMessage(this.deps.db, msgId);
  }
}
