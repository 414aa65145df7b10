/**
 * `chat.search`, `chat.syncMessages` and `chat.getDeletedMessages`: finding messages in a
 * room and catching up with what changed in it, with Rocket.Chat's parameters, answers
 * and error texts. Each reads only a room the caller may read.
 */
import { Elysia, t } from "elysia";
import { ClientError, invalidParams } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import {
  changesPage,
  changesSince,
  deletedSince,
  type SyncResult,
  type SyncType,
} from "../services/message-sync.ts";
import { searchMessages } from "../services/search.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { PAGE_QUERY } from "./room-params.ts";

/** ajv's `iso-date-time` format, which Rocket.Chat checks `since` against. */
const ISO_DATE_TIME =
  /^\d{4}-[01]\d-[0-3]\d[tT\s](?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:[zZ]|[+-]\d\d(?::?\d\d)?)?$/;

/** Rocket.Chat's Meteor error with no details. */
function failure(code: string, reason: string): ClientError {
  return new ClientError(code, reason);
}

/** Throws Rocket.Chat's `error-not-allowed` unless `user` may read room `rid`. */
async function assertReadable(services: Services, user: User, rid: string): Promise<void> {
  const room = await services.rooms.byId(rid);
  if (!room || !(await services.authz.canAccessRoom(room, user))) {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "messages/get" },
    });
  }
}

/** The `count` of a sync page: a whole number, 20 when absent or 0, within the API's upper limit. */
function syncCount(services: Services, raw: string | undefined): number {
  if (raw === undefined) return 20;
  const count = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(count)) throw invalidParams("must be number");
  const upper = services.settings.get<number>("API_Upper_Count_Limit") ?? 100;
  return Math.min(Math.max(0, Math.trunc(count)) || 20, upper);
}

/** The query of `chat.syncMessages`, as strings. */
interface SyncQuery {
  roomId: string;
  lastUpdate?: string;
  count?: string;
  next?: string;
  previous?: string;
  type?: string;
}

/**
 * Rocket.Chat's `chat.syncMessages`, checks in its order: a parameter of the wrong shape,
 * no room, neither `type` nor `lastUpdate`, a `lastUpdate` that is no date, a room the
 * caller may not read, then cursors that conflict. `type` without a cursor answers
 * nothing changed, as Rocket.Chat does.
 */
async function syncMessages(services: Services, user: User, query: SyncQuery) {
  const { roomId, lastUpdate, next, previous, type } = query;
  if (type !== undefined && type !== "UPDATED" && type !== "DELETED")
    throw invalidParams("must be equal to one of the allowed values");
  const count = syncCount(services, query.count);
  if (!roomId)
    throw failure("error-param-required", 'The required "roomId" query param is missing');
  if (!lastUpdate && !type) {
    throw failure("error-param-required", 'The "type" or "lastUpdate" parameters must be provided');
  }
  if (lastUpdate && Number.isNaN(Date.parse(lastUpdate))) {
    throw failure(
      "error-lastUpdate-param-invalid",
      'The "lastUpdate" query parameter must be a valid date',
    );
  }
  await assertReadable(services, user, roomId);
  if ((next || previous) && !type) {
    throw failure(
      "error-type-param-required",
      'The "type" parameter is required when using the "next" or "previous" parameters',
    );
  }
  if (next && previous)
    throw failure(
      "error-cursor-conflict",
      'You cannot provide both "next" and "previous" parameters',
    );
  if ((next || previous) && lastUpdate) {
    throw failure(
      "error-cursor-and-lastUpdate-conflict",
      'The attributes "next", "previous" and "lastUpdate" cannot be used together',
    );
  }

  const deps = services.deps;
  let result: SyncResult = { updated: [], deleted: [] };
  if (lastUpdate) result = await changesSince(deps, roomId, new Date(Date.parse(lastUpdate)));
  else if (next || previous) {
    const cursor = next ? { next } : { previous: previous as string };
    result = await changesPage(deps, roomId, { type: type as SyncType, count, ...cursor });
  }
  return { result };
}

/** The `chat.search`, `chat.syncMessages` and `chat.getDeletedMessages` routes. */
export function chatSearchRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/chat.search",
      async ({ me, query }) => {
        const { count, offset } = pagination(services, query);
        if (!query.roomId) {
          const reason = 'The required "roomId" query param is missing.';
          throw failure("error-roomId-param-not-provided", reason);
        }
        if (!query.searchText) {
          const reason = 'The required "searchText" query param is missing.';
          throw failure("error-searchText-param-not-provided", reason);
        }
        const rid = query.roomId;
        const messages = await searchMessages(services, me, query.searchText, {
          rid,
          offset,
          count,
        });
        // Rocket.Chat answers a room the caller may not read with a bare failure.
        if (messages === false)
          throw new ClientError("error-not-allowed", undefined, { plain: true });
        return ok({ messages });
      },
      {
        access: true,
        query: t.Object({ roomId: t.String(), searchText: t.String(), ...PAGE_QUERY }),
        detail: {
          summary: "Search a room's messages (text, from:, mention:, has:, is:pinned, on:, …)",
          tags: ["Chat"],
        },
      },
    )
    .get(
      "/chat.syncMessages",
      async ({ me, query }) => ok(await syncMessages(services, me, query)),
      {
        access: true,
        query: t.Object({
          roomId: t.String(),
          lastUpdate: t.Optional(t.String()),
          count: t.Optional(t.String()),
          next: t.Optional(t.String()),
          previous: t.Optional(t.String()),
          type: t.Optional(t.String()),
        }),
        detail: {
          summary:
            "A room's messages changed and deleted since lastUpdate, or one page of them after or before a cursor",
          tags: ["Chat"],
        },
      },
    )
    .get(
      "/chat.getDeletedMessages",
      async ({ me, query }) => {
        if (query.roomId === "") throw invalidParams("must NOT have fewer than 1 characters");
        if (!ISO_DATE_TIME.test(query.since) || Number.isNaN(Date.parse(query.since)))
          throw invalidParams('must match format "iso-date-time"');
        const { count, offset } = pagination(services, query);
        // Rocket.Chat lists these ids for any room id; here, as for every other read, only
        // for a room the caller may read.
        await assertReadable(services, me, query.roomId);
        const since = new Date(Date.parse(query.since));
        const page = await deletedSince(services.deps, query.roomId, since, { offset, count });
        return ok({
          messages: page.messages,
          count: page.messages.length,
          offset,
          total: page.total,
        });
      },
      {
        access: true,
        query: t.Object({ roomId: t.String(), since: t.String(), ...PAGE_QUERY }),
        detail: {
          summary: "Ids of a room's messages deleted since a date, one page at a time",
          tags: ["Chat"],
        },
      },
    );
}
