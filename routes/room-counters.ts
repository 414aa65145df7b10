/**
 * `channels.counters`, `groups.counters` and `im.counters` (alias `dm.counters`): a
 * member's unread count, mention count and last-seen time in one room, with the room's
 * totals. Holders of `view-room-administration` may ask on behalf of another user
 * (`userId`); anyone else asking so gets the bare 403.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { directCounters, roomCounters } from "../services/room-counters.ts";
import { apiBase, ok } from "./http.ts";
import { forbidden } from "./room-params.ts";

const Query = t.Object({
  roomId: t.Optional(t.String()),
  roomName: t.Optional(t.String()),
  userId: t.Optional(t.String()),
});

type CountersQuery = { roomId?: string; roomName?: string; userId?: string };

/**
 * Whose counters are asked for: the caller's, or `userId`'s when the caller holds
 * `view-room-administration`. Throws the bare 403 otherwise.
 */
async function whose(services: Services, me: User, query: CountersQuery) {
  const administrator = await services.authz.can(me, "view-room-administration");
  if (query.userId && !administrator) throw forbidden();
  return { uid: query.userId || me._id, administrator };
}

/**
 * The private group named by `roomId` or `roomName`, with Rocket.Chat's errors. A group
 * the caller may not read answers as one that does not exist unless the caller administers
 * rooms (Rocket.Chat answers it with empty counters, which tells a non-member it exists).
 */
async function group(services: Services, me: User, query: CountersQuery, admin: boolean) {
  if (
    (query.roomId !== undefined && !query.roomId) ||
    (query.roomName !== undefined && !query.roomName)
  ) {
    throw new ClientError(
      "error-room-param-not-provided",
      'The parameter "roomId" or "roomName" is required',
    );
  }
  if (!admin) return services.rooms.findGroup(query, me, true);
  const { rooms } = services.deps.db;
  const room = query.roomId
    ? await rooms.findOne({ _id: query.roomId })
    : query.roomName
      ? await rooms.findOne({ name: query.roomName })
      : null;
  if (!room || room.t !== "p") {
    throw new ClientError(
      "error-room-not-found",
      'The required "roomId" or "roomName" param provided does not match any group',
    );
  }
  if (room.archived) {
    throw new ClientError("error-room-archived", `The private group, ${room.name}, is archived`);
  }
  return room;
}

/** The direct message `roomId` that user `uid` may read; the bare 403 otherwise. */
async function direct(services: Services, roomId: string | undefined, uid: string): Promise<Room> {
  if (!roomId) {
    throw new ClientError("error-room-param-not-provided", 'Query param "roomId" is required');
  }
  const [user] = await services.accounts.usersByIds([uid]);
  const room = await services.rooms.byId(roomId);
  if (!user || !room || !(await services.authz.canAccessRoom(room, user))) throw forbidden();
  if (room.t !== "d") {
    throw new ClientError(
      "error-room-not-found",
      'The required "roomId" param provided does not match any direct message',
    );
  }
  return room;
}

/** The counters routes of channels, groups and direct messages. */
export function roomCountersRoutes(services: Services, log: Logger) {
  const { deps } = services;
  const app = new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/channels.counters",
      async ({ me, query }) => {
        const { uid, administrator } = await whose(services, me, query);
        const room = await services.rooms.findChannel(query, true);
        return ok({ ...(await roomCounters(deps, room, uid, administrator)) });
      },
      {
        access: true,
        query: Query,
        detail: {
          summary: "A member's unread and mention counters in a channel",
          tags: ["Channels"],
        },
      },
    )
    .get(
      "/groups.counters",
      async ({ me, query }) => {
        const administrator = await services.authz.can(me, "view-room-administration");
        const room = await group(services, me, query, administrator);
        const { uid } = await whose(services, me, query);
        return ok({ ...(await roomCounters(deps, room, uid, administrator)) });
      },
      {
        access: true,
        query: Query,
        detail: {
          summary: "A member's unread and mention counters in a private group",
          tags: ["Groups"],
        },
      },
    );
  for (const prefix of ["im", "dm"]) {
    app.get(
      `/${prefix}.counters`,
      async ({ me, query }) => {
        const { uid, administrator } = await whose(services, me, query);
        const room = await direct(services, query.roomId, uid);
        return ok({ ...(await directCounters(deps, room, uid, administrator)) });
      },
      {
        access: true,
        query: Query,
        detail: {
          summary: "A member's unread and mention counters in a direct message",
          tags: ["Direct messages"],
        },
      },
    );
  }
  return app;
}
