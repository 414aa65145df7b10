/**
 * Message sync: what changed in a room since a date, for clients that come back online.
 * A deletion is recorded in the trash collection (`rocketchat__trash`, as Rocket.Chat keeps
 * it) before the message goes, so that a later sync can report it. Two forms, as in
 * Rocket.Chat's `messages/get`: everything since `lastUpdate`, or one page of updates or
 * of deletions after (`next`) or before (`previous`) a cursor, the cursor being a
 * timestamp in milliseconds.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, TrashRecord } from "../core/models.ts";
import type { Deps } from "./context.ts";

/** The `__collection__` of trashed messages: Rocket.Chat's short name of the collection. */
export const MESSAGE_TRASH = "message";

/** A deleted message as sync reports it. */
export type DeletedMessage = Pick<TrashRecord, "_id" | "_deletedAt">;

/** Which changes a cursor page lists. */
export type SyncType = "UPDATED" | "DELETED";

/** What a sync answers; `cursor` only in the cursor form. */
export interface SyncResult {
  readonly updated: Message[];
  readonly deleted: DeletedMessage[];
  readonly cursor?: { readonly next: string | null; readonly previous: string | null };
}

/**
 * Keeps `message` in the trash, stamped with the time of deletion, replacing an earlier
 * record of the same id. Call it before deleting the message: if the deletion then fails,
 * a sync reports a deletion that a retry completes, rather than never reporting one.
 */
export async function recordDeletion(
  deps: Pick<Deps, "db" | "clock">,
  message: Message,
): Promise<void> {
  const record: TrashRecord = {
    ...message,
    _deletedAt: deps.clock.now(),
    __collection__: MESSAGE_TRASH,
  };
  await deps.db.trash.deleteOne({ _id: message._id });
  await deps.db.trash.insertOne(record);
}

/**
 * The most changed messages, and separately the most deleted ones, that one answer of the
 * `lastUpdate` form of a sync holds, the bound the history methods use too.
 */
export const SYNC_SINCE_LIMIT = 1000;

/**
 * Up to SYNC_SINCE_LIMIT visible messages of room `rid` changed after `since` and up to
 * as many deleted after it, newest first. Limitation: Rocket.Chat answers every change in
 * this form; here a client that syncs from a date long past, in a room with more changes
 * than the bound, receives only the newest ones and no sign that others were left out. A
 * client that needs them all must page with the cursor form (`type` with `next` or
 * `previous`), which reads any number of changes a page at a time.
 */
export async function changesSince(deps: Pick<Deps, "db">, rid: string, since: Date) {
  const window = { sort: { ts: -1 } as Record<string, 1 | -1>, limit: SYNC_SINCE_LIMIT };
  const [updated, deleted] = await Promise.all([
    deps.db.messages.find({ rid, _hidden: { $ne: true }, _updatedAt: { $gt: since } }, window),
    deletedMessages(deps, { rid, _deletedAt: { $gt: since } }, window),
  ]);
  return { updated, deleted };
}

async function deletedMessages(
  deps: Pick<Deps, "db">,
  filter: Record<string, unknown>,
  window: { sort: Record<string, 1 | -1>; limit?: number },
): Promise<DeletedMessage[]> {
  const records = await deps.db.trash.find(
    { __collection__: MESSAGE_TRASH, ...filter },
    { ...window, projection: { _id: 1, _deletedAt: 1 } },
  );
  return records.map(({ _id, _deletedAt }) => ({ _id, _deletedAt }));
}

/**
 * The time in a cursor: its leading digits as milliseconds, read as Rocket.Chat reads
 * them (`parseInt`). Throws the plain "Invalid Date" it answers otherwise.
 */
function cursorTime(cursor: string): Date {
  const time = new Date(Number.parseInt(cursor, 10));
  if (Number.isNaN(time.getTime()))
    throw new ClientError("error-invalid-date", "Invalid Date", { plain: true });
  return time;
}

/** A cursor at `doc`: its time of update (UPDATED) or of deletion (DELETED) in ms. */
function stamp(doc: Message | DeletedMessage, type: SyncType): string {
  const time = type === "DELETED" ? doc._deletedAt : (doc as Message)._updatedAt;
  return String((time as Date).getTime());
}

/**
 * One page of at most `count` changes of `type` after cursor `next` (oldest first) or
 * before cursor `previous` (newest first), with the cursors around it. One more than
 * `count` is read to learn whether another page follows; the cursors are Rocket.Chat's:
 * `next` is null on the last page of a `next` walk, `previous` null on the last page of
 * a `previous` walk.
 */
export async function changesPage(
  deps: Pick<Deps, "db">,
  rid: string,
  page: { type: SyncType; count: number; next?: string; previous?: string },
): Promise<SyncResult> {
  const { type, count, next, previous } = page;
  const field = type === "UPDATED" ? "_updatedAt" : "_deletedAt";
  const range = previous ? { $lt: cursorTime(previous) } : { $gt: cursorTime(next as string) };
  const window = {
    sort: { [field]: previous ? -1 : 1 } as Record<string, 1 | -1>,
    limit: count + 1,
  };
  const found: (Message | DeletedMessage)[] =
    type === "UPDATED"
      ? await deps.db.messages.find({ rid, _hidden: { $ne: true }, _updatedAt: range }, window)
      : await deletedMessages(deps, { rid, _deletedAt: range }, window);

  const more = found.length > count;
  const first = found[0];
  const beforeExtra = found[found.length - 2];
  const last = found[found.length - 1];
  let nextCursor: string | null = null;
  let previousCursor: string | null = null;
  if (first && last) {
    if (previous) {
      nextCursor = stamp(first, type);
      previousCursor = more && beforeExtra ? stamp(beforeExtra, type) : null;
    } else {
      nextCursor = more && beforeExtra ? stamp(beforeExtra, type) : null;
      previousCursor = stamp(first, type);
    }
  }
  const items = found.slice(0, count);
  return {
    updated: type === "UPDATED" ? (items as Message[]) : [],
    deleted: type === "DELETED" ? (items as DeletedMessage[]) : [],
    cursor: { next: nextCursor, previous: previousCursor },
  };
}

/**
 * One page of the ids of room `rid`'s messages deleted after `since`, in the order they
 * were deleted, with how many there are in all.
 */
export async function deletedSince(
  deps: Pick<Deps, "db">,
  rid: string,
  since: Date,
  page: { offset: number; count: number },
): Promise<{ messages: { _id: string }[]; total: number }> {
  const filter = { __collection__: MESSAGE_TRASH, rid, _deletedAt: { $gt: since } };
  const [records, total] = await Promise.all([
    deps.db.trash.find(filter, {
      sort: { _deletedAt: 1 },
      skip: page.offset,
      limit: page.count,
      projection: { _id: 1 },
    }),
    deps.db.trash.countDocuments(filter),
  ]);
  return { messages: records.map(({ _id }) => ({ _id })), total };
}
