/**
 * `channels.*`: public channels. Creating one, reading its record, history, messages and
 * members, listing channels, and membership changes (join, leave, invite, kick), which go
 * through the room's actor. Shapes, defaults and errors follow Rocket.Chat's handlers.
 * The routes `groups.*` has too are built in `room-routes.ts` from `CHANNEL_ROUTES`.
 */
import { Elysia, t } from "elysia";
import { ClientError, notAllowed } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { roomView } from "../services/rooms.ts";
import { visibleRoomsFilter } from "../services/teams.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { forbidden, PAGE_QUERY, parseSort, requireOneOf, requireParams } from "./room-params.ts";
import { createRoute, membershipRoutes, type RoomRoutesSpec, sharedReads } from "./room-routes.ts";
import { CHANNELS, ROOM_REF, roomAnswer, USER_REF } from "./room-scope.ts";

const TAGS = CHANNELS.tags;

/**
 * How `channels.*` finds and checks its rooms. A channel's record and members need the
 * caller to be able to read it (a bare 403 otherwise); its history does its own check.
 *
 * Limitation: `extraData` (broadcast, encrypted, teamId, topic) of channels.create is
 * validated but ignored, so such channels are created as plain ones; a channel joins a
 * team through teams.addRooms.
 */
const CHANNEL_ROUTES: RoomRoutesSpec = {
  kind: CHANNELS,
  type: "c",
  listKey: "channels",
  joinedPath: "list.joined",
  summaries: {
    info: "A channel's record, by roomId or roomName",
    joined: "The channels the caller joined",
    history: "A channel's messages, newest first, before `latest`",
    messages: "A page of a channel's messages, with filters",
    members: "A page of a channel's active members",
    create: "Create a public channel (permission create-c)",
    invite: "Add users to a channel",
    kick: "Remove a user from a channel",
  },
  async infoRoom(services, ref, me) {
    const room = await services.rooms.findChannel(ref);
    if (!(await services.authz.canAccessRoom(room, me))) throw forbidden();
    return room;
  },
  historyRoom(services, ref) {
    requireOneOf(ref, ["roomId", "roomName"]);
    return services.rooms.findChannel(ref);
  },
  historyDefaults: { threadsByDefault: false },
  messagesRef: { roomId: ROOM_REF.roomId },
  async messagesRoom(services, ref, me) {
    requireParams(ref, ["roomId"]);
    if (!(await services.authz.can(me, "view-c-room"))) throw notAllowed();
    const room = await services.rooms.findChannel({ roomId: ref.roomId as string });
    const joinedOnly = await services.authz.can(me, "view-joined-room");
    if (joinedOnly && !(await services.authz.isMember(room._id, me._id))) throw forbidden();
    if (!(await services.authz.canAccessRoom(room, me))) throw forbidden();
    return room;
  },
  membersRoom(services, ref, me) {
    return CHANNEL_ROUTES.infoRoom(services, ref, me);
  },
  createExtraData: t.Object({
    broadcast: t.Optional(t.Boolean()),
    encrypted: t.Optional(t.Boolean()),
    teamId: t.Optional(t.String()),
    topic: t.Optional(t.String()),
  }),
  async mayCreate(services, me) {
    if (!(await services.authz.can(me, "create-c"))) throw forbidden();
  },
  nameRequired: () =>
    new ClientError("error-invalid-params", 'Param "name" is required', { plain: true }),
  inviteRoom: (services, ref) => services.rooms.findChannel(ref, true),
  // Rocket.Chat answers this case with the code as the message (and the sentence as
  // errorType); only the `error` string is reproduced here.
  emptyInvite: () =>
    new ClientError("invalid-user-invite-list", "invalid-user-invite-list", { plain: true }),
  kickUserRef: { userId: USER_REF.userId },
  kickRoom(services, body) {
    requireOneOf(body, ["roomId", "roomName"]);
    requireParams(body, ["userId"]);
    return services.rooms.findChannel(body, true);
  },
  kickAnswer: (services, rid) => roomAnswer(services, CHANNELS, rid),
};

/**
 * `channels.list`: every channel for those with view-c-room, else the joined ones; the
 * channels of a private team only to its members.
 */
function channelList(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).get(
    "/channels.list",
    async ({ me, query }) => {
      const seesAll = await services.authz.can(me, "view-c-room");
      if (!seesAll && !(await services.authz.can(me, "view-joined-room"))) throw notAllowed();
      const { count, offset } = pagination(services, query);
      // Without view-c-room a user lists only the channels they joined.
      let ids = seesAll ? undefined : await services.rooms.subscribedRoomIds(me._id, ["c"]);
      if (query._id !== undefined) ids = ids ? ids.filter((id) => id === query._id) : [query._id];
      const sort = parseSort(query.sort);
      const extra = await visibleRoomsFilter(services, me._id);
      const { rooms, total } = await services.rooms.list(
        { t: "c", ...(ids && { ids }), extra },
        { offset, count, ...(sort && { sort }) },
      );
      return ok({ channels: rooms.map(roomView), count: rooms.length, offset, total });
    },
    {
      access: true,
      query: t.Object({ ...PAGE_QUERY, _id: t.Optional(t.String()) }),
      detail: { summary: "Public channels, a page at a time", tags: TAGS },
    },
  );
}

/** `channels.join` and `channels.leave`, which groups do not have. */
function joinLeave(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/channels.join",
      async ({ me, body }) => {
        requireOneOf(body, ["roomId", "roomName"]);
        const room = await services.rooms.findChannel(body, true);
        const joinCode = body.joinCode ?? undefined;
        await services.deps.rooms.execute(room._id, {
          kind: "join",
          user: me,
          ...(joinCode && { joinCode }),
        });
        return roomAnswer(services, CHANNELS, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, joinCode: t.Optional(t.Union([t.String(), t.Null()])) }),
        detail: { summary: "Join a public channel", tags: TAGS },
      },
    )
    .post(
      "/channels.leave",
      async ({ me, body }) => {
        requireOneOf(body, ["roomId", "roomName"]);
        const room = await services.rooms.findChannel(body, true);
        await services.deps.rooms.execute(room._id, { kind: "leave", user: me });
        return roomAnswer(services, CHANNELS, room._id);
      },
      {
        access: true,
        body: t.Object(ROOM_REF),
        detail: { summary: "Leave a channel", tags: TAGS },
      },
    );
}

/** The channel routes. */
export function channelsRoutes(services: Services, log: Logger) {
  const reads = sharedReads(services, log, CHANNEL_ROUTES);
  return new Elysia()
    .use(reads.info)
    .use(channelList(services, log))
    .use(reads.rest)
    .use(createRoute(services, log, CHANNEL_ROUTES))
    .use(joinLeave(services, log))
    .use(membershipRoutes(services, log, CHANNEL_ROUTES));
}
