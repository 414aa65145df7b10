/**
 * `channels.*`: public channels. Creating one, reading its record, history, messages and
 * members, listing channels, and membership changes (join, leave, invite, kick), which go
 * through the room's actor. Shapes, defaults and errors follow Rocket.Chat's handlers.
 */
import { Elysia, t } from "elysia";
import { ClientError, notAllowed } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { roomView } from "../services/rooms.ts";
import { apiBase, ok, pagination, requireUser } from "./http.ts";
import {
  forbidden,
  HISTORY_QUERY,
  MEMBERS_QUERY,
  MESSAGES_QUERY,
  PAGE_QUERY,
  parseSort,
  readHistory,
  readMembers,
  readMessages,
  requireOneOf,
  requireParams,
  usersFromParams,
  userFromParams,
} from "./room-params.ts";

const TAGS = ["Channels"];

const RoomRef = { roomId: t.Optional(t.String()), roomName: t.Optional(t.String()) };

const CreateBody = t.Object({
  name: t.Optional(t.String()),
  members: t.Optional(t.Array(t.String())),
  readOnly: t.Optional(t.Boolean()),
  excludeSelf: t.Optional(t.Boolean()),
  customFields: t.Optional(t.Record(t.String(), t.Unknown())),
  extraData: t.Optional(
    t.Object({
      broadcast: t.Optional(t.Boolean()),
      encrypted: t.Optional(t.Boolean()),
      teamId: t.Optional(t.String()),
      topic: t.Optional(t.String()),
    }),
  ),
});

const InviteBody = t.Object({
  ...RoomRef,
  userId: t.Optional(t.String()),
  username: t.Optional(t.String()),
  user: t.Optional(t.String()),
  userIds: t.Optional(t.Array(t.String())),
  usernames: t.Optional(t.Array(t.String())),
});

/** The channel as the answers of channels.* carry it, read after any change. */
async function channelAnswer(services: Services, rid: string) {
  const room = await services.rooms.byId(rid);
  if (!room) {
    throw new ClientError(
      "error-room-not-found",
      'The required "roomId" or "roomName" param provided does not match any channel',
    );
  }
  return ok({ channel: roomView(room) });
}

/** The reads of channels: one channel, listings, history, messages, members. */
function channelReads(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/channels.info",
      async ({ user, query }) => {
        const me = requireUser(user);
        const room = await services.rooms.findChannel(query);
        if (!(await services.authz.canAccessRoom(room, me))) throw forbidden();
        return ok({ channel: roomView(room) });
      },
      {
        query: t.Object(RoomRef),
        detail: { summary: "A channel's record, by roomId or roomName", tags: TAGS },
      },
    )
    .get(
      "/channels.list",
      async ({ user, query }) => {
        const me = requireUser(user);
        const seesAll = await services.authz.can(me, "view-c-room");
        if (!seesAll && !(await services.authz.can(me, "view-joined-room"))) throw notAllowed();
        const { count, offset } = pagination(services, query);
        // Without view-c-room a user lists only the channels they joined.
        let ids = seesAll ? undefined : await services.rooms.subscribedRoomIds(me._id, ["c"]);
        if (query._id !== undefined) ids = ids ? ids.filter((id) => id === query._id) : [query._id];
        const sort = parseSort(query.sort);
        const { rooms, total } = await services.rooms.list(
          { t: "c", ...(ids && { ids }) },
          { offset, count, ...(sort && { sort }) },
        );
        return ok({ channels: rooms.map(roomView), count: rooms.length, offset, total });
      },
      {
        query: t.Object({ ...PAGE_QUERY, _id: t.Optional(t.String()) }),
        detail: { summary: "Public channels, a page at a time", tags: TAGS },
      },
    )
    .get(
      "/channels.list.joined",
      async ({ user, query }) => {
        const me = requireUser(user);
        const { count, offset } = pagination(services, query);
        const ids = await services.rooms.subscribedRoomIds(me._id, ["c"]);
        if (ids.length === 0) return ok({ channels: [], offset, count: 0, total: 0 });
        const sort = parseSort(query.sort);
        const { rooms, total } = await services.rooms.list(
          { t: "c", ids },
          { offset, count, ...(sort && { sort }) },
        );
        return ok({ channels: rooms.map(roomView), offset, count: rooms.length, total });
      },
      {
        query: t.Object(PAGE_QUERY),
        detail: { summary: "The channels the caller joined", tags: TAGS },
      },
    )
    .get(
      "/channels.history",
      async ({ user, query }) => {
        const me = requireUser(user);
        requireOneOf(query, ["roomId", "roomName"]);
        const room = await services.rooms.findChannel(query);
        return ok(await readHistory(services, room, me, query, { threadsByDefault: false }));
      },
      {
        query: t.Object({ ...RoomRef, ...HISTORY_QUERY }),
        detail: { summary: "A channel's messages, newest first, before `latest`", tags: TAGS },
      },
    )
    .get(
      "/channels.messages",
      async ({ user, query }) => {
        const me = requireUser(user);
        requireParams(query, ["roomId"]);
        if (!(await services.authz.can(me, "view-c-room"))) throw notAllowed();
        const room = await services.rooms.findChannel({ roomId: query.roomId as string });
        const joinedOnly = await services.authz.can(me, "view-joined-room");
        if (joinedOnly && !(await services.authz.isMember(room._id, me._id))) throw forbidden();
        return ok(await readMessages(services, room, query));
      },
      {
        query: t.Object({ roomId: t.Optional(t.String()), ...MESSAGES_QUERY }),
        detail: { summary: "A page of a channel's messages, with filters", tags: TAGS },
      },
    )
    .get(
      "/channels.members",
      async ({ user, query }) => {
        const me = requireUser(user);
        const room = await services.rooms.findChannel(query);
        if (!(await services.authz.canAccessRoom(room, me))) throw forbidden();
        return ok(await readMembers(services, room, query));
      },
      {
        query: t.Object({ ...RoomRef, ...MEMBERS_QUERY }),
        detail: { summary: "A page of a channel's active members", tags: TAGS },
      },
    );
}

/**
 * The writes of channels: creation and membership.
 *
 * Limitation: `extraData` (broadcast, encrypted, teamId, topic) of channels.create is
 * validated but ignored, so such channels are created as plain ones; teams do not exist yet.
 */
function channelWrites(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/channels.create",
      async ({ user, body }) => {
        const me = requireUser(user);
        if (!(await services.authz.can(me, "create-c"))) throw forbidden();
        if (!body.name)
          throw new ClientError("error-invalid-params", 'Param "name" is required', {
            plain: true,
          });
        const room = await services.rooms.create({
          type: "c",
          name: body.name,
          owner: me,
          members: body.members ?? [],
          readOnly: body.readOnly ?? false,
          excludeSelf: body.excludeSelf ?? false,
          ...(body.customFields && { customFields: body.customFields }),
        });
        return channelAnswer(services, room._id);
      },
      {
        body: CreateBody,
        detail: { summary: "Create a public channel (permission create-c)", tags: TAGS },
      },
    )
    .post(
      "/channels.join",
      async ({ user, body }) => {
        const me = requireUser(user);
        requireOneOf(body, ["roomId", "roomName"]);
        const room = await services.rooms.findChannel(body, true);
        const joinCode = body.joinCode ?? undefined;
        await services.deps.rooms.execute(room._id, {
          kind: "join",
          user: me,
          ...(joinCode && { joinCode }),
        });
        return channelAnswer(services, room._id);
      },
      {
        body: t.Object({ ...RoomRef, joinCode: t.Optional(t.Union([t.String(), t.Null()])) }),
        detail: { summary: "Join a public channel", tags: TAGS },
      },
    )
    .post(
      "/channels.leave",
      async ({ user, body }) => {
        const me = requireUser(user);
        requireOneOf(body, ["roomId", "roomName"]);
        const room = await services.rooms.findChannel(body, true);
        await services.deps.rooms.execute(room._id, { kind: "leave", user: me });
        return channelAnswer(services, room._id);
      },
      { body: t.Object(RoomRef), detail: { summary: "Leave a channel", tags: TAGS } },
    )
    .post(
      "/channels.invite",
      async ({ user, body }) => {
        const me = requireUser(user);
        const room = await services.rooms.findChannel(body, true);
        const users = await usersFromParams(services, body);
        // Rocket.Chat answers this case with the code as the message (and the sentence as
        // errorType); only the `error` string is reproduced here.
        if (users.length === 0) {
          throw new ClientError("invalid-user-invite-list", "invalid-user-invite-list", {
            plain: true,
          });
        }
        await services.deps.rooms.execute(room._id, { kind: "add", by: me, users });
        return channelAnswer(services, room._id);
      },
      { body: InviteBody, detail: { summary: "Add users to a channel", tags: TAGS } },
    )
    .post(
      "/channels.kick",
      async ({ user, body }) => {
        const me = requireUser(user);
        requireOneOf(body, ["roomId", "roomName"]);
        requireParams(body, ["userId"]);
        const room = await services.rooms.findChannel(body, true);
        const target = await userFromParams(services, body);
        await services.deps.rooms.execute(room._id, { kind: "remove", by: me, user: target });
        return channelAnswer(services, room._id);
      },
      {
        body: t.Object({ ...RoomRef, userId: t.Optional(t.String()) }),
        detail: { summary: "Remove a user from a channel", tags: TAGS },
      },
    );
}

/** The channel routes. */
export function channelsRoutes(services: Services, log: Logger) {
  return new Elysia().use(channelReads(services, log)).use(channelWrites(services, log));
}
