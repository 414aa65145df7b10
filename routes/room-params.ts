/**
 * What the room resources (channels, groups, im) share: Rocket.Chat's parameter checks in
 * ajv's exact wording, the bare 403 its handlers answer, and the history, message-list
 * and member-list reads with their parameters. Rooms are found by the callers; these
 * helpers only read.
 */
import { t } from "elysia";
import { invalidJsonQuery, jsonQueryObject } from "../services/json-query.ts";
import { ClientError, invalidParams } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { memberView } from "../services/users.ts";
import type { Sort } from "../store/types.ts";
import { pagination } from "./http.ts";

/** `count`, `offset` and `sort` of a paginated GET, as strings from the query. */
export const PAGE_QUERY = {
  count: t.Optional(t.String()),
  offset: t.Optional(t.String()),
  sort: t.Optional(t.String()),
};

/** A query flag Rocket.Chat accepts only as the strings `true` or `false`. */
const Flag = t.Optional(t.Union([t.Literal("true"), t.Literal("false")]));

/** The parameters of `*.history`, besides the room. */
export const HISTORY_QUERY = {
  ...PAGE_QUERY,
  latest: t.Optional(t.String({ minLength: 1 })),
  oldest: t.Optional(t.String({ minLength: 1 })),
  inclusive: Flag,
  unreads: Flag,
  showThreadMessages: Flag,
};

/** The filters of `*.messages`, besides the room. */
export const MESSAGES_QUERY = {
  ...PAGE_QUERY,
  mentionIds: t.Optional(t.String()),
  starredIds: t.Optional(t.String()),
  pinned: t.Optional(t.String()),
};

/** The filters of `*.members`, besides the room. */
export const MEMBERS_QUERY = {
  ...PAGE_QUERY,
  filter: t.Optional(t.String()),
  status: t.Optional(t.Union([t.String(), t.Array(t.String())])),
};

/** Rocket.Chat's bare 403 (`API.v1.forbidden()`): `{success: false, error: "unauthorized"}`. */
export function forbidden(): ClientError {
  return new ClientError("forbidden", "unauthorized", { status: 403, plain: true });
}

/** Throws ajv's wording for the first of `keys` that `params` lacks. */
export function requireParams(params: Record<string, unknown>, keys: readonly string[]): void {
  const missing = keys.find((key) => params[key] === undefined);
  if (missing !== undefined) throw invalidParams(`must have required property '${missing}'`);
}

/**
 * Throws ajv's wording for a `oneOf` schema whose branches each require one of `keys`:
 * none given names every missing key, several given are "additional properties".
 */
export function requireOneOf(params: Record<string, unknown>, keys: readonly string[]): void {
  const given = keys.filter((key) => params[key] !== undefined);
  if (given.length === 1) return;
  const reasons =
    given.length === 0
      ? keys.map((key) => `must have required property '${key}'`)
      : keys.map(() => "must NOT have additional properties");
  throw invalidParams([...reasons, "must match exactly one schema in oneOf"].join("\n "));
}

/** Throws ajv's wording for an `anyOf` schema whose branches each require one of `keys`. */
export function requireAnyOf(params: Record<string, unknown>, keys: readonly string[]): void {
  if (keys.some((key) => params[key] !== undefined)) return;
  const reasons = keys.map((key) => `must have required property '${key}'`);
  throw invalidParams([...reasons, "must match a schema in anyOf"].join("\n "));
}

/**
 * The `sort` parameter: a JSON object of field paths to 1 or -1. Anything else, and any
 * `$` operator, is Rocket.Chat's `error-invalid-sort`; absent gives undefined.
 */
export function parseSort(raw: string | undefined): Sort | undefined {
  if (raw === undefined) return undefined;
  const parsed = jsonQueryObject("sort", raw);
  const entries = Object.entries(parsed);
  if (entries.some(([key, dir]) => !/^[A-Za-z_][\w.]*$/.test(key) || (dir !== 1 && dir !== -1)))
    throw invalidJsonQuery("sort", raw);
  return parsed as Sort;
}

/** A comma-separated id list, trimmed; empty gives undefined. */
function idList(raw: string | undefined): string[] | undefined {
  const ids = raw
    ?.split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  return ids?.length ? ids : undefined;
}

/** A date parameter; Rocket.Chat's `error-invalid-date` when it does not parse. */
function dateParam(raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) {
    throw new ClientError("error-invalid-date", "Invalid date", {
      details: { method: "getChannelHistory" },
    });
  }
  return date;
}

/** The history query as strings, as `HISTORY_QUERY` validated it. */
export type HistoryParams = { [K in keyof typeof HISTORY_QUERY]?: string };

/**
 * Reads a room's history for `user` as Rocket.Chat's `getChannelHistory` does: newest
 * first, before `latest` (default: the newest), after `oldest`; a reader who may not see the
 * room gets the bare 403. `countDefault` and `threadsByDefault` differ per resource.
 */
export async function readHistory(
  services: Services,
  room: Room,
  user: User,
  query: HistoryParams,
  defaults: { readonly countDefault?: number; readonly threadsByDefault: boolean },
): Promise<Record<string, unknown>> {
  if (!(await services.authz.canAccessRoom(room, user))) throw forbidden();
  const { count, offset } = pagination(services, {
    ...query,
    ...(query.count === undefined &&
      defaults.countDefault !== undefined && { count: defaults.countDefault }),
  });
  const oldest = dateParam(query.oldest);
  const threads =
    query.showThreadMessages === undefined
      ? defaults.threadsByDefault
      : query.showThreadMessages === "true";
  // No `latest` means "up to now". It is left unbounded rather than set to the clock: the
  // room actor may stamp a burst of messages a few milliseconds ahead of the clock so that
  // each has a distinct time, and those must not vanish from a read in that window.
  const latest = dateParam(query.latest);
  const messages = await services.messages.history(room._id, {
    ...(latest && { latest }),
    ...(oldest && { oldest }),
    inclusive: query.inclusive === "true",
    offset,
    count,
    showThreadMessages: threads,
  });
  if (query.unreads !== "true") return { messages };

  // Rocket.Chat reports the unread messages a page left out only when `oldest` is given.
  const last = messages[messages.length - 1];
  const unread =
    oldest && last && last.ts > oldest
      ? await services.messages.unreadBefore(room._id, oldest, last.ts)
      : undefined;
  return {
    messages,
    ...(unread?.first && { firstUnread: unread.first }),
    unreadNotLoaded: unread?.count ?? 0,
  };
}

/** The message-list query as strings, as `MESSAGES_QUERY` validated it. */
export type MessagesParams = { [K in keyof typeof MESSAGES_QUERY]?: string };

/** One page of a room's messages with Rocket.Chat's `mentionIds`/`starredIds`/`pinned` filters. */
export async function readMessages(services: Services, room: Room, query: MessagesParams) {
  const { count, offset } = pagination(services, query);
  const mentionIds = idList(query.mentionIds);
  const starredIds = idList(query.starredIds);
  const { messages, total } = await services.messages.list(room._id, {
    offset,
    count,
    ...(query.sort !== undefined && { sort: parseSort(query.sort) }),
    filter: {
      ...(mentionIds && { mentionIds }),
      ...(starredIds && { starredIds }),
      pinned: query.pinned?.toLowerCase() === "true",
    },
  });
  return { messages, count: messages.length, offset, total };
}

/** The member-list query, as `MEMBERS_QUERY` validated it. */
export type MembersParams = {
  count?: string;
  offset?: string;
  sort?: string;
  filter?: string;
  status?: string | string[];
};

/** One page of a room's active members, optionally filtered by name and status. */
export async function readMembers(services: Services, room: Room, query: MembersParams) {
  const { count, offset } = pagination(services, query);
  const sort = parseSort(query.sort);
  const status = query.status === undefined ? undefined : [query.status].flat();
  const { members, total } = await services.rooms.members(room._id, {
    offset,
    count,
    // Rocket.Chat honours only a username order from `sort`.
    ...(sort?.username !== undefined && {
      sort: { statusConnection: -1, username: sort.username },
    }),
    ...(query.filter && { filter: query.filter }),
    ...(status && { status }),
  });
  return { members: members.map(memberView), count: members.length, offset, total };
}

/**
 * The one user named by `userId`, `username` or `user` (a username), in that order, as
 * Rocket.Chat's `getUserFromParams` finds them; usernames ignore case.
 */
export async function userFromParams(
  services: Services,
  params: { userId?: string; username?: string; user?: string },
): Promise<User> {
  const byName = params.username?.trim()
    ? params.username
    : params.user?.trim()
      ? params.user
      : undefined;
  if (!params.userId?.trim() && byName === undefined) {
    throw new ClientError(
      "error-user-param-not-provided",
      'The required "userId" or "username" param was not provided',
    );
  }
  const [user] = params.userId?.trim()
    ? await services.accounts.usersByIds([params.userId])
    : await services.accounts.usersByUsernamesIgnoringCase([byName as string]);
  if (!user) {
    throw new ClientError(
      "error-invalid-user",
      'The required "userId" or "username" param provided does not match any users',
    );
  }
  return user;
}

/**
 * The users named by `userIds`/`usernames` plus `userId`/`username`/`user`, as
 * Rocket.Chat's `getUserListFromParams` finds them: ids when any id was given, otherwise
 * usernames ignoring case; unknown ones are left out.
 */
export async function usersFromParams(
  services: Services,
  params: {
    userId?: string;
    username?: string;
    user?: string;
    userIds?: string[];
    usernames?: string[];
  },
): Promise<User[]> {
  const sole = params.userId || params.username || params.user;
  const names = [
    ...new Set([...(params.userIds ?? params.usernames ?? []), ...(sole ? [sole] : [])]),
  ].filter(Boolean);
  if (names.length === 0) {
    throw new ClientError(
      "error-users-params-not-provided",
      'Please provide "userId" or "username" or "userIds" or "usernames" as param',
    );
  }
  return params.userIds || params.userId
    ? services.accounts.usersByIds(names)
    : services.accounts.usersByUsernamesIgnoringCase(names);
}
