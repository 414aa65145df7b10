/**
 * `rooms.favorite`, `rooms.open` and `rooms.hide`: how a room shows in the caller's room
 * list. A favourite is starred (`f`); a hidden room leaves the list (`open: false`) until
 * the caller opens it again or a new message arrives. Each change runs in the room's actor.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { apiBase, ok } from "./http.ts";

const TAGS = ["Rooms"];

/** Rocket.Chat's bare 401 of `API.v1.unauthorized()`. */
function unauthorized(): ClientError {
  return new ClientError("unauthorized", "unauthorized", { status: 401, plain: true });
}

/**
 * The room named by `roomId` or `roomName`, as Rocket.Chat's `findRoomByIdOrName` finds
 * it, archived rooms refused. A room the caller may not read answers as one that does not
 * exist, so that no one learns a private group's name or id from it.
 */
async function namedRoom(
  services: Services,
  me: User,
  params: { roomId?: string; roomName?: string },
): Promise<Room> {
  const { roomId, roomName } = params;
  if (!roomId?.trim() && !roomName?.trim()) {
    throw new ClientError(
      "error-roomid-param-not-provided",
      'The parameter "roomId" or "roomName" is required',
    );
  }
  const { rooms } = services.deps.db;
  const room = roomId?.trim()
    ? await rooms.findOne({ _id: roomId })
    : await rooms.findOne({ name: roomName });
  if (!room || !(await services.authz.canAccessRoom(room, me))) {
    throw new ClientError(
      "error-room-not-found",
      'The required "roomId" or "roomName" param provided does not match any channel',
    );
  }
  if (room.archived) {
    throw new ClientError("error-room-archived", `The channel, ${room.name}, is archived`);
  }
  return room;
}

/** The routes that change how a room shows in the caller's list. */
export function roomListRoutes(services: Services, log: Logger) {
  const { rooms } = services.deps;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/rooms.favorite",
      async ({ me, body }) => {
        if (body.favorite === undefined) {
          throw new ClientError("error-invalid-params", "The 'favorite' param is required", {
            plain: true,
          });
        }
        const room = await namedRoom(services, me, body);
        await rooms.execute(room._id, { kind: "sub.favorite", user: me, favorite: body.favorite });
        return ok();
      },
      {
        access: true,
        body: t.Object({
          roomId: t.Optional(t.String()),
          roomName: t.Optional(t.String()),
          favorite: t.Optional(t.Boolean()),
        }),
        detail: { summary: "Mark or unmark a room as one of the caller's favourites", tags: TAGS },
      },
    )
    .post(
      "/rooms.open",
      async ({ me, body }) => {
        // Rocket.Chat answers success whether or not there was a subscription to open.
        if (await services.rooms.byId(body.roomId)) {
          await rooms.execute(body.roomId, { kind: "sub.open", user: me });
        }
        return ok();
      },
      {
        access: true,
        body: t.Object({ roomId: t.String() }),
        detail: { summary: "Show a hidden room in the caller's room list again", tags: TAGS },
      },
    )
    .post(
      "/rooms.hide",
      async ({ me, body }) => {
        const room = await services.rooms.byId(body.roomId);
        if (!room || !(await services.authz.canAccessRoom(room, me))) throw unauthorized();
        const changed = await rooms.execute(room._id, { kind: "sub.hide", user: me });
        if (!changed) {
          throw new ClientError("error-room-already-hidden", "error-room-already-hidden", {
            plain: true,
          });
        }
        return ok();
      },
      {
        access: true,
        body: t.Object({ roomId: t.String() }),
        detail: { summary: "Hide a room from the caller's room list", tags: TAGS },
      },
    );
}
