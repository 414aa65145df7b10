/**
 * The DDP methods that page through a room's history around a point, and message search,
 * with Rocket.Chat's parameters and answers: `loadMissedMessages` (everything after a
 * time, newest first), `loadNextMessages` (a page after a time, oldest first),
 * `loadSurroundingMessages` (a page around one message) and `messageSearch`. Each reads
 * only rooms the caller may read and never shows a message hidden as edit history.
 * (`loadHistory`, the page before a time, lives in methods.ts.)
 */
import { ClientError } from "../core/errors.ts";
import type { Message } from "../core/models.ts";
import type { Services } from "./index.ts";
import {
  matchFailed,
  type Method,
  obj,
  optionalDate,
  str,
  type MethodDef,
  open,
  signedIn,
} from "./method-params.ts";
import { searchMessages } from "./search.ts";

/**
 * The most messages one call answers. Rocket.Chat hands these limits to MongoDB as they
 * come, where 0 (and, for `loadMissedMessages`, no limit at all) means the whole room;
 * here those take this bound instead, so one call cannot read a room of any size.
 */
const HISTORY_LIMIT = 1000;

const visible = { _hidden: { $ne: true } };

/** `value` as Meteor's `check(value, Number)` sees it, or `fallback` when undefined. */
function numberParam(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) throw matchFailed();
  return value;
}

/** A page size within 1..HISTORY_LIMIT: 0 takes the bound, a negative size its magnitude. */
function pageSize(limit: number): number {
  return Math.min(Math.abs(Math.trunc(limit)) || HISTORY_LIMIT, HISTORY_LIMIT);
}

/** Whether `caller` may read room `rid` (false for a room that does not exist). */
async function mayRead(services: Services, user: Parameters<Method>[1]["user"], rid: string) {
  const room = await services.rooms.byId(rid);
  return room !== null && (await services.authz.canAccessRoom(room, user));
}

/**
 * Up to `size` visible messages of room `rid` on one side of `ts`, nearest first, and
 * whether more lie beyond them.
 */
async function beside(
  services: Services,
  rid: string,
  ts: Date,
  side: "before" | "after",
  size: number,
): Promise<{ messages: Message[]; more: boolean }> {
  if (size === 0) return { messages: [], more: false };
  const found = await services.deps.db.messages.find(
    { rid, ...visible, ts: side === "before" ? { $lt: ts } : { $gt: ts } },
    { sort: { ts: side === "before" ? -1 : 1 }, limit: size + 1 },
  );
  return { messages: found.slice(0, size), more: found.length > size };
}

/** History and search methods, by name. */
export const HISTORY_METHODS: Record<string, MethodDef> = {
  loadMissedMessages: open(async (services, caller, [rid, start]) => {
    const roomId = str(rid);
    if (!(start instanceof Date) || Number.isNaN(start.getTime())) throw matchFailed();
    // Rocket.Chat names another method in these details; kept so clients see the same.
    const details = { method: "getUsersOfRoom" };
    if (!roomId) throw new ClientError("error-invalid-room", "Invalid room", { details });
    if (!(await mayRead(services, caller.user, roomId))) return false;
    return services.deps.db.messages.find(
      { rid: roomId, ...visible, ts: { $gt: start } },
      { sort: { ts: -1 }, limit: HISTORY_LIMIT },
    );
  }),

  loadNextMessages: signedIn(async (services, caller, [rid, end, limit]) => {
    const roomId = str(rid);
    const size = pageSize(numberParam(limit, 20));
    const details = { method: "loadNextMessages" };
    if (!roomId) throw new ClientError("error-invalid-room", "Invalid room", { details });
    if (!(await mayRead(services, caller.user, roomId)))
      throw new ClientError("error-not-allowed", "Not allowed", { details });
    const after = optionalDate(end);
    const messages = await services.deps.db.messages.find(
      { rid: roomId, ...visible, ...(after && { ts: { $gt: after } }) },
      { sort: { ts: 1 }, limit: size },
    );
    return { messages };
  }),

  /**
   * The message and up to `limit - 1` around it: the earlier half first (nearest first,
   * as Rocket.Chat lists them), then the message, then the later half oldest first.
   * `moreBefore`/`moreAfter` say whether anything lies beyond; Rocket.Chat also says so
   * when a side holds exactly as many as were asked for and nothing more.
   */
  loadSurroundingMessages: signedIn(async (services, caller, [message, limit]) => {
    const { _id } = obj(message);
    const size = pageSize(numberParam(limit, 50));
    // Only an id string: an operator object here would select some other message.
    if (typeof _id !== "string" || _id === "") return false;
    const main = await services.deps.db.messages.findOne({ _id, ...visible });
    if (!main || !(await mayRead(services, caller.user, main.rid))) return false;

    const around = size - 1;
    const before = await beside(services, main.rid, main.ts, "before", Math.ceil(around / 2));
    const after = await beside(services, main.rid, main.ts, "after", Math.floor(around / 2));
    return {
      messages: [...before.messages, main, ...after.messages],
      moreBefore: before.more,
      moreAfter: after.more,
    };
  }),

  /**
   * Rocket.Chat's default search provider: `{message: {docs}}`, or false for a room the
   * caller may not read. Limitation: without a room it answers no messages, as
   * Rocket.Chat does while its global search setting is off (the default); searching
   * every room at once is not offered.
   */
  messageSearch: signedIn(async (services, caller, [text, rid, limit, offset]) => {
    const searchText = str(text);
    const roomId = rid === undefined || rid === null ? undefined : str(rid);
    const upper = services.settings.get<number>("API_Upper_Count_Limit") ?? 100;
    const count = Math.min(Math.max(1, Math.trunc(numberParam(limit, 20))), upper);
    const skip = Math.max(0, Math.trunc(numberParam(offset, 0)));
    const user = caller.user;
    if (!roomId) return { message: { docs: [] } };
    const docs = await searchMessages(services, user, searchText, {
      rid: roomId,
      offset: skip,
      count,
    });
    return docs === false ? false : { message: { docs } };
  }),
};
