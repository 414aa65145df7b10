/**
 * `im.*` (and their `dm.*` aliases): direct messages. Opening one with one or several
 * users, listing the caller's, and reading a DM's history and messages. A DM may be named
 * by its id or by the other user's id or username, as Rocket.Chat allows; reading one the
 * caller is not part of answers the bare 403.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Room, User } from "../core/models.ts";
import { activeUsersMatching, pick, searchFields } from "../services/discovery.ts";
import type { Services } from "../services/index.ts";
import { roomView } from "../services/rooms.ts";
import { apiBase, ok, pagination } from "./http.ts";
import {
  MEMBERS_QUERY,
  type MembersParams,
  forbidden,
  HISTORY_QUERY,
  MESSAGES_QUERY,
  PAGE_QUERY,
  parseSort,
  readHistory,
  readMessages,
  requireOneOf,
  requireParams,
} from "./room-params.ts";

const TAGS = ["Direct messages"];

/** The fields of a member in `im.members`. */
const MEMBER_FIELDS = ["_id", "username", "name", "status", "statusText", "utcOffset", "federated"];

/**
 * One page of a direct message's active members, as Rocket.Chat's `im.members` lists
 * them: most recently updated first, then by username; `filter` searches the fields of
 * `Accounts_SearchFields`, `status` keeps those statuses. Each member carries their
 * subscription's `_id`, `ts` and `roles`.
 */
async function directMembers(services: Services, room: Room, query: MembersParams) {
  const { count, offset } = pagination(services, query);
  const sort = parseSort(query.sort);
  const status = query.status === undefined ? undefined : [query.status].flat();
  const filter = activeUsersMatching(query.filter ?? "", searchFields(services), [
    { _id: { $in: room.uids ?? [] } },
    ...(status ? [{ status: { $in: status } }] : []),
  ]);
  const { users, subscriptions } = services.deps.db;
  const [found, total] = await Promise.all([
    users.find(filter, {
      sort: { _updatedAt: -1, username: sort?.username === -1 ? -1 : 1 },
      skip: offset,
      limit: count,
    }),
    users.countDocuments(filter),
  ]);
  const subs = await subscriptions.find({
    rid: room._id,
    "u._id": { $in: found.map((u) => u._id) },
  });
  const members = found.map((user) => {
    const sub = subs.find((s) => s.u._id === user._id);
    const subscription = sub ? pick(sub, ["_id", "ts", "roles", "status"]) : {};
    return { ...pick(user, MEMBER_FIELDS), subscription };
  });
  return { members, count: members.length, offset, total };
}

/** `roomId` or `username`: how `members` and `messages` name a direct message. */
const DIRECT_REF = { roomId: t.Optional(t.String()), username: t.Optional(t.String()) };

/**
 * The direct message `roomId` (or else `username`) names, opened if need be, for the
 * routes that name one either way (`members`, `messages`, `files`). Throws
 * `invalid-params` in ajv's words when neither is given, Rocket.Chat's `invalid-channel`
 * when they name no direct message, and the bare 403 to a caller who is not part of it.
 */
export async function readableDirect(
  services: Services,
  me: User,
  query: { roomId?: string; username?: string },
): Promise<Room> {
  requireOneOf(query, ["roomId", "username"]);
  const room = await services.rooms.findDirect(me, (query.roomId ?? query.username) as string);
  if (!(await services.authz.canAccessRoom(room, me))) throw forbidden();
  return room;
}

/** One page of direct messages, those of `ids` or else all of them, as `ims`. */
async function listDirects(
  services: Services,
  query: { count?: string; offset?: string; sort?: string },
  ids?: string[],
) {
  const { count, offset } = pagination(services, query);
  const sort = parseSort(query.sort);
  const { rooms, total } = await services.rooms.list(
    { t: "d", ...(ids && { ids }) },
    { offset, count, ...(sort && { sort }) },
  );
  return ok({ ims: rooms.map(roomView), offset, count: rooms.length, total });
}

const CreateBody = t.Object({
  username: t.Optional(t.String()),
  usernames: t.Optional(t.String()),
  excludeSelf: t.Optional(t.Boolean()),
});

/** The routes of one prefix, `im` or its alias `dm`. */
function directRoutes(services: Services, log: Logger, prefix: "im" | "dm") {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      `/${prefix}.create`,
      async ({ me, body }) => {
        requireOneOf(body, ["usernames", "username"]);
        const usernames =
          body.username !== undefined ? [body.username] : (body.usernames as string).split(",");
        const room = await services.rooms.createDirect(
          me,
          usernames.map((name) => name.trim()),
          body.excludeSelf ?? false,
        );
        return ok({ room: { ...roomView(room), rid: room._id } });
      },
      {
        access: true,
        body: CreateBody,
        detail: {
          summary: "Open (or find) a direct message with one or several users",
          tags: TAGS,
        },
      },
    )
    .get(
      `/${prefix}.list`,
      async ({ me, query }) => {
        return listDirects(services, query, await services.rooms.subscribedRoomIds(me._id, ["d"]));
      },
      {
        access: true,
        query: t.Object(PAGE_QUERY),
        detail: { summary: "The caller's direct messages", tags: TAGS },
      },
    )
    .get(`/${prefix}.list.everyone`, async ({ query }) => listDirects(services, query), {
      access: { permissions: ["view-room-administration"] },
      query: t.Object(PAGE_QUERY),
      detail: {
        summary: "Every direct message of the workspace (view-room-administration)",
        tags: TAGS,
      },
    })
    .get(
      `/${prefix}.members`,
      async ({ me, query }) => {
        const room = await readableDirect(services, me, query);
        return ok(await directMembers(services, room, query));
      },
      {
        access: true,
        query: t.Object({
          ...DIRECT_REF,
          ...MEMBERS_QUERY,
        }),
        detail: {
          summary: "The members of a direct message, with their subscription",
          tags: TAGS,
        },
      },
    )
    .get(
      `/${prefix}.history`,
      async ({ me, query }) => {
        requireParams(query, ["roomId"]);
        const room = await services.rooms.findDirect(me, query.roomId as string);
        return ok(await readHistory(services, room, me, query, { threadsByDefault: false }));
      },
      {
        access: true,
        query: t.Object({ roomId: t.Optional(t.String({ minLength: 1 })), ...HISTORY_QUERY }),
        detail: {
          summary: "A direct message's messages, newest first, before `latest`",
          tags: TAGS,
        },
      },
    )
    .get(
      `/${prefix}.messages`,
      async ({ me, query }) => {
        const room = await readableDirect(services, me, query);
        return ok(await readMessages(services, room, query));
      },
      {
        access: true,
        query: t.Object({
          ...DIRECT_REF,
          ...MESSAGES_QUERY,
        }),
        detail: { summary: "A page of a direct message's messages, with filters", tags: TAGS },
      },
    );
}

/** The direct message routes, under `im.*` and `dm.*`. */
export function imRoutes(services: Services, log: Logger) {
  return new Elysia().use(directRoutes(services, log, "im")).use(directRoutes(services, log, "dm"));
}
