/**
 * `rooms.get` and `rooms.info`: the rooms the caller belongs to (optionally only those
 * changed since a date), and one room by id or name if the caller may see it.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { callMethod } from "../services/methods.ts";
import { roomView } from "../services/rooms.ts";
import { apiBase, ok } from "./http.ts";
import { asSync, sinceDate } from "./subscriptions.ts";

/**
 * The room a `roomId` or `roomName` parameter names that `user` may read, with
 * Rocket.Chat's errors for neither given, no such room, and an archived room. A room the
 * user may not read answers as one that does not exist, archived or not, so that nobody
 * learns a private group's name from it. `roomId` wins when both are given.
 */
async function readableRoom(
  services: Services,
  user: User,
  query: { roomId?: string; roomName?: string },
): Promise<Room> {
  const { roomId, roomName } = query;
  const neither = roomId === undefined && roomName === undefined;
  const bothEmpty = roomId === "" && roomName === "";
  if (neither || bothEmpty) {
    throw new ClientError(
      "error-roomid-param-not-provided",
      'The parameter "roomId" or "roomName" is required',
    );
  }
  const { rooms } = services.deps.db;
  const room =
    roomId !== undefined
      ? await rooms.findOne({ _id: roomId })
      : await rooms.findOne({ name: roomName });
  if (!room || !(await services.authz.canAccessRoom(room, user))) {
    throw new ClientError(
      "error-room-not-found",
      'The required "roomId" or "roomName" param provided does not match any channel',
    );
  }
  if (room.archived)
    throw new ClientError("error-room-archived", `The channel, ${room.name}, is archived`);
  return room;
}

/** The `rooms.get` and `rooms.info` routes. */
export function roomRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/rooms.get",
      async ({ me, query }) => {
        const invalid = 'The "updatedSince" query parameter must be a valid date.';
        const since = sinceDate(
          query.updatedSince,
          () => new ClientError("error-updatedSince-param-invalid", invalid),
        );
        const result = asSync(
          await callMethod(services, { user: me, connectionId: "rest" }, "rooms/get", [since]),
        );
        return ok({ update: (result.update as Room[]).map(roomView), remove: result.remove });
      },
      {
        access: true,
        query: t.Object({ updatedSince: t.Optional(t.String()) }),
        detail: {
          summary: "The caller's rooms, optionally only those changed since a date",
          tags: ["Rooms"],
        },
      },
    )
    .get(
      "/rooms.info",
      async ({ me, query }) => {
        // Rocket.Chat answers `not-allowed` for a room the caller may not read, which tells
        // a non-member that a private group of that name exists; Parley answers not found.
        const room = await readableRoom(services, me, query);
        return ok({ room: roomView(room) });
      },
      {
        access: true,
        query: t.Object({ roomId: t.Optional(t.String()), roomName: t.Optional(t.String()) }),
        detail: { summary: "One room by id or name, if the caller may see it", tags: ["Rooms"] },
      },
    );
}
