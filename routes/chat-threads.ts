/**
 * The thread routes of `chat.*`: the threads of a room and the replies of a thread, paged
 * or changed since a date, and following or unfollowing a thread, with Rocket.Chat's
 * parameters, answers and error texts. Parameters are checked here in the words of
 * Rocket.Chat's validator (`invalid-params`) before anything else, as it does.
 */
import { Elysia, t } from "elysia";
import { ClientError, invalidParams } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import {
  followMessage,
  listThreads,
  readableRoom,
  repliesChangedSince,
  type ThreadListType,
  threadReplies,
  threadsChangedSince,
  threadsEnabled,
} from "../services/threads.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { PAGE_QUERY, parseSort, requireParams } from "./room-params.ts";

const LIST_TYPES: readonly string[] = ["all", "following", "unread"];

/** What `query` and `fields` may carry: accepted and ignored, as Rocket.Chat 7 does. */
const IGNORED_QUERY = { query: t.Optional(t.String()), fields: t.Optional(t.String()) };

const FollowBody = t.Object({ mid: t.Optional(t.String()) });

/** ajv's `format: "iso-date-time"`: a date, a time, optional fraction and zone. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$/;

function threadsDisabled(): ClientError {
  return new ClientError("error-not-allowed", "Threads Disabled");
}

function notAllowed(): ClientError {
  return new ClientError("error-not-allowed", "Not Allowed");
}

/** Throws ajv's words for an empty string where at least one character is required. */
function requireNonEmpty(params: Record<string, unknown>, key: string): void {
  requireParams(params, [key]);
  if (params[key] === "") throw invalidParams("must NOT have fewer than 1 characters");
}

/** Throws the validator's words unless `updatedSince` is given as an ISO date-time. */
function requireDateTime(params: { updatedSince?: string }): void {
  requireParams(params, ["updatedSince"]);
  if (!ISO_DATE_TIME.test(params.updatedSince as string))
    throw invalidParams('must match format "iso-date-time"');
}

/** The date in `raw`, or Rocket.Chat's `error-updatedSince-param-invalid`. */
function sinceDate(raw: string): Date {
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) {
    throw new ClientError(
      "error-updatedSince-param-invalid",
      'The "updatedSince" query parameter must be a valid date.',
    );
  }
  return new Date(ms);
}

/** The parent of thread `tmid` and its room if `user` may read it, else Rocket.Chat's failures. */
async function readableThread(services: Services, user: User, tmid: string) {
  const thread = await services.messages.byId(tmid);
  if (!thread) throw new ClientError("error-invalid-message", "Invalid Message");
  const room = await readableRoom(services, thread.rid, user, notAllowed);
  return { thread, room };
}

/** The `chat.*` thread routes. */
export function chatThreadRoutes(services: Services, log: Logger) {
  const following =
    (follow: boolean) =>
    async ({ me, body }: { me: User; body: { mid?: string } }) => {
      requireNonEmpty(body, "mid");
      await followMessage(services, me, body.mid as string, follow);
      return ok();
    };

  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/chat.getThreadsList",
      async ({ me, query }) => {
        requireParams(query, ["rid"]);
        if (query.type !== undefined && !LIST_TYPES.includes(query.type))
          throw invalidParams("must be equal to one of the allowed values");
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        if (!threadsEnabled(services)) throw threadsDisabled();
        const room = await readableRoom(services, query.rid as string, me, notAllowed);

        const { threads, total } = await listThreads(services, room, me._id, {
          type: (query.type ?? "all") as ThreadListType,
          text: query.text,
          offset,
          count,
          ...(sort && { sort }),
        });
        return ok({ threads, count: threads.length, offset, total });
      },
      {
        access: true,
        query: t.Object({
          rid: t.Optional(t.String()),
          type: t.Optional(t.String()),
          text: t.Optional(t.String()),
          ...PAGE_QUERY,
          ...IGNORED_QUERY,
        }),
        detail: {
          summary:
            "The threads of a room, latest reply first: all, followed or unread by the caller (`type`), optionally matching `text`",
          tags: ["Chat"],
        },
      },
    )
    .get(
      "/chat.syncThreadsList",
      async ({ me, query }) => {
        requireNonEmpty(query, "rid");
        requireDateTime(query);
        if (!threadsEnabled(services)) throw threadsDisabled();
        const since = sinceDate(query.updatedSince as string);
        const room = await readableRoom(services, query.rid as string, me, notAllowed);
        return ok({ threads: await threadsChangedSince(services, room._id, since) });
      },
      {
        access: true,
        query: t.Object({
          rid: t.Optional(t.String()),
          updatedSince: t.Optional(t.String()),
          ...IGNORED_QUERY,
        }),
        detail: {
          summary: "The threads of a room changed (`update`) or deleted (`remove`) since a date",
          tags: ["Chat"],
        },
      },
    )
    .get(
      "/chat.getThreadMessages",
      async ({ me, query }) => {
        requireNonEmpty(query, "tmid");
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        if (!threadsEnabled(services)) throw threadsDisabled();
        const { thread } = await readableThread(services, me, query.tmid as string);

        const window = { offset, count, ...(sort && { sort }) };
        const { messages, total } = await threadReplies(services, thread._id, window);
        return ok({ messages, count: messages.length, offset, total });
      },
      {
        access: true,
        query: t.Object({ tmid: t.Optional(t.String()), ...PAGE_QUERY, ...IGNORED_QUERY }),
        detail: { summary: "The replies of a thread, oldest first", tags: ["Chat"] },
      },
    )
    .get(
      "/chat.syncThreadMessages",
      async ({ me, query }) => {
        requireNonEmpty(query, "tmid");
        requireDateTime(query);
        if (!threadsEnabled(services)) throw threadsDisabled();
        const since = sinceDate(query.updatedSince as string);
        const { thread, room } = await readableThread(services, me, query.tmid as string);
        const messages = await repliesChangedSince(services, room._id, thread._id, since);
        return ok({ messages });
      },
      {
        access: true,
        query: t.Object({
          tmid: t.Optional(t.String()),
          updatedSince: t.Optional(t.String()),
          ...PAGE_QUERY,
          ...IGNORED_QUERY,
        }),
        detail: {
          summary: "The replies of a thread changed (`update`) or deleted (`remove`) since a date",
          tags: ["Chat"],
        },
      },
    )
    .post("/chat.followMessage", following(true), {
      access: true,
      body: FollowBody,
      detail: { summary: "Follow the thread of a message (`mid`)", tags: ["Chat"] },
    })
    .post("/chat.unfollowMessage", following(false), {
      access: true,
      body: FollowBody,
      detail: {
        summary: "Stop following the thread of a message (`mid`), dropping it from unread threads",
        tags: ["Chat"],
      },
    });
}
