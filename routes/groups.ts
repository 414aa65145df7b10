/**
 * `groups.*`: private groups. A group is invisible to those who may not read it: every
 * read answers a non-member exactly as for a group that does not exist, and writes by a
 * non-member fail before anything about the group is revealed. Membership changes go
 * through the room's actor.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { roomView } from "../services/rooms.ts";
import { apiBase, ok, pagination, requireUser } from "./http.ts";
import {
  HISTORY_QUERY,
  MEMBERS_QUERY,
  MESSAGES_QUERY,
  PAGE_QUERY,
  parseSort,
  readHistory,
  readMembers,
  readMessages,
  requireOneOf,
  userFromParams,
  usersFromParams,
} from "./room-params.ts";

const TAGS = ["Groups"];

const RoomRef = { roomId: t.Optional(t.String()), roomName: t.Optional(t.String()) };

const NOT_FOUND = 'The required "roomId" or "roomName" param provided does not match any group';

const CreateBody = t.Object({
  name: t.Optional(t.String()),
  members: t.Optional(t.Array(t.String())),
  readOnly: t.Optional(t.Boolean()),
  excludeSelf: t.Optional(t.Boolean()),
  customFields: t.Optional(t.Record(t.String(), t.Unknown())),
  extraData: t.Optional(t.Record(t.String(), t.Unknown())),
});

const InviteBody = t.Object({
  ...RoomRef,
  userId: t.Optional(t.String()),
  username: t.Optional(t.String()),
  user: t.Optional(t.String()),
  userIds: t.Optional(t.Array(t.String())),
  usernames: t.Optional(t.Array(t.String())),
});

const KickBody = t.Object({
  ...RoomRef,
  userId: t.Optional(t.String()),
  username: t.Optional(t.String()),
  user: t.Optional(t.String()),
});

/** The group as the answers of groups.* carry it, read after any change. */
async function groupAnswer(services: Services, rid: string) {
  const room = await services.rooms.byId(rid);
  if (!room) throw new ClientError("error-room-not-found", NOT_FOUND);
  return ok({ group: roomView(room) });
}

/** The reads of groups: one group, the caller's groups, history, messages, members. */
function groupReads(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/groups.info",
      async ({ user, query }) => {
        const room = await services.rooms.findGroup(query, requireUser(user));
        return ok({ group: roomView(room) });
      },
      {
        query: t.Object(RoomRef),
        detail: { summary: "A private group's record, for its members", tags: TAGS },
      },
    )
    .get(
      "/groups.list",
      async ({ user, query }) => {
        const me = requireUser(user);
        const { count, offset } = pagination(services, query);
        const ids = await services.rooms.subscribedRoomIds(me._id, ["p"]);
        if (ids.length === 0) return ok({ groups: [], offset, count: 0, total: 0 });
        const sort = parseSort(query.sort);
        const { rooms, total } = await services.rooms.list(
          { t: "p", ids },
          { offset, count, ...(sort && { sort }) },
        );
        return ok({ groups: rooms.map(roomView), offset, count: rooms.length, total });
      },
      {
        query: t.Object(PAGE_QUERY),
        detail: { summary: "The private groups the caller belongs to", tags: TAGS },
      },
    )
    .get(
      "/groups.history",
      async ({ user, query }) => {
        const me = requireUser(user);
        const room = await services.rooms.findGroup(query, me);
        // groups.history counts 20 by default and shows thread replies unless told not to.
        // Unlike Rocket.Chat, a larger `count` is capped at API_Upper_Count_Limit here.
        return ok(
          await readHistory(services, room, me, query, {
            countDefault: 20,
            threadsByDefault: true,
          }),
        );
      },
      {
        query: t.Object({ ...RoomRef, ...HISTORY_QUERY }),
        detail: {
          summary: "A private group's messages, newest first, before `latest`",
          tags: TAGS,
        },
      },
    )
    .get(
      "/groups.messages",
      async ({ user, query }) => {
        requireOneOf(query, ["roomId", "roomName"]);
        const room = await services.rooms.findGroup(query, requireUser(user));
        return ok(await readMessages(services, room, query));
      },
      {
        query: t.Object({ ...RoomRef, ...MESSAGES_QUERY }),
        detail: { summary: "A page of a private group's messages, with filters", tags: TAGS },
      },
    )
    .get(
      "/groups.members",
      async ({ user, query }) => {
        const room = await services.rooms.findGroup(query, requireUser(user), true);
        return ok(await readMembers(services, room, query));
      },
      {
        query: t.Object({ ...RoomRef, ...MEMBERS_QUERY }),
        detail: { summary: "A page of a private group's active members", tags: TAGS },
      },
    );
}

/**
 * The writes of groups: creation, invitations and removals.
 *
 * Limitation: `extraData` of groups.create (encrypted, teamId, …) is accepted but ignored,
 * so an end-to-end encrypted or team group is created as a plain private group.
 */
function groupWrites(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/groups.create",
      async ({ user, body }) => {
        const me = requireUser(user);
        if (!body.name)
          throw new ClientError("error-invalid-params", 'Body param "name" is required', {
            plain: true,
          });
        const room = await services.rooms.create({
          type: "p",
          name: body.name,
          owner: me,
          members: body.members ?? [],
          readOnly: body.readOnly ?? false,
          excludeSelf: body.excludeSelf ?? false,
          ...(body.customFields && { customFields: body.customFields }),
        });
        return groupAnswer(services, room._id);
      },
      {
        body: CreateBody,
        detail: { summary: "Create a private group (permission create-p)", tags: TAGS },
      },
    )
    .post(
      "/groups.invite",
      async ({ user, body }) => {
        const me = requireUser(user);
        const room = await services.rooms.find(body, ["p"]);
        // Whoever can neither read the group nor add to any group learns nothing of it.
        const mayAddAnywhere = await services.authz.can(me, "add-user-to-any-p-room");
        if (!mayAddAnywhere && !(await services.authz.canAccessRoom(room, me))) {
          throw new ClientError("error-room-not-found", NOT_FOUND);
        }
        const users = await usersFromParams(services, body);
        if (users.length === 0) {
          throw new ClientError(
            "error-empty-invite-list",
            "Cannot invite if no valid users are provided",
          );
        }
        await services.deps.rooms.execute(room._id, { kind: "add", by: me, users });
        return groupAnswer(services, room._id);
      },
      { body: InviteBody, detail: { summary: "Add users to a private group", tags: TAGS } },
    )
    .post(
      "/groups.kick",
      async ({ user, body }) => {
        const me = requireUser(user);
        const room = await services.rooms.find(body, ["p"]);
        const mayKickAnywhere = await services.authz.can(me, "kick-user-from-any-p-room");
        if (!mayKickAnywhere && !(await services.authz.canAccessRoom(room, me))) {
          throw new ClientError("error-room-not-found", NOT_FOUND);
        }
        const target = await userFromParams(services, body);
        await services.deps.rooms.execute(room._id, { kind: "remove", by: me, user: target });
        return ok();
      },
      { body: KickBody, detail: { summary: "Remove a user from a private group", tags: TAGS } },
    );
}

/** The private group routes. */
export function groupsRoutes(services: Services, log: Logger) {
  return new Elysia().use(groupReads(services, log)).use(groupWrites(services, log));
}
