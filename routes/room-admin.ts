/**
 * Room management by room id: `rooms.saveRoomSettings`, `rooms.changeArchivationState`,
 * `rooms.delete` and `rooms.cleanHistory`. Each runs in the room's actor with
 * Rocket.Chat's checks, answers and errors.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { cleanRoomHistory, eraseRoom } from "../services/room-lifecycle.ts";
import { apiBase, ok } from "./http.ts";
import { requireParams } from "./room-params.ts";
import { saveSettings } from "./room-scope.ts";

const TAGS = ["Rooms"];

function invalidRoom(method: string): ClientError {
  return new ClientError("error-invalid-room", "Invalid room", { details: { method } });
}

/** A date parameter of cleanHistory; `error-invalid-date` when it does not parse. */
function dateOf(raw: string): Date {
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) {
    throw new ClientError("error-invalid-date", "Invalid date", {
      details: { method: "cleanRoomHistory" },
    });
  }
  return date;
}

const CleanHistoryBody = t.Object({
  roomId: t.Optional(t.String()),
  latest: t.Optional(t.String()),
  oldest: t.Optional(t.String()),
  inclusive: t.Optional(t.Boolean()),
  excludePinned: t.Optional(t.Boolean()),
  filesOnly: t.Optional(t.Boolean()),
  users: t.Optional(t.Array(t.String(), { maxItems: 1000 })),
  limit: t.Optional(t.Integer({ minimum: 0 })),
  ignoreDiscussion: t.Optional(t.Boolean()),
  ignoreThreads: t.Optional(t.Boolean()),
});

/** The `rooms.*` management routes. */
export function roomAdminRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/rooms.saveRoomSettings",
      async ({ me, body }) => {
        const { rid, ...settings } = body as { rid: string } & Record<string, unknown>;
        const room = await services.rooms.byId(rid);
        if (!room) throw invalidRoom("saveRoomSettings");
        await saveSettings(services, room, me, settings);
        return ok({ rid: room._id });
      },
      {
        access: true,
        body: t.Object({ rid: t.String() }, { additionalProperties: true }),
        detail: {
          summary: "Change a room's settings (roomName, roomTopic, readOnly, …) at once",
          tags: TAGS,
        },
      },
    )
    .post(
      "/rooms.changeArchivationState",
      async ({ me, body }) => {
        const archive = body.action === "archive";
        const room = await services.rooms.byId(body.rid);
        if (!room) throw invalidRoom(archive ? "archiveRoom" : "unarchiveRoom");
        const kind = archive ? "settings.archive" : "settings.unarchive";
        await services.deps.rooms.execute(room._id, { kind, user: me });
        return ok();
      },
      {
        access: true,
        body: t.Object({ rid: t.String(), action: t.Optional(t.Union([t.String(), t.Null()])) }),
        detail: { summary: "Archive a room (action 'archive') or unarchive it", tags: TAGS },
      },
    )
    .post(
      "/rooms.delete",
      async ({ me, body }) => {
        requireParams(body, ["roomId"]);
        await eraseRoom(services, me, body.roomId as string);
        return ok();
      },
      {
        access: true,
        body: t.Object({ roomId: t.Optional(t.String()) }),
        detail: { summary: "Delete a room with its messages and discussions", tags: TAGS },
      },
    )
    .post(
      "/rooms.cleanHistory",
      async ({ me, body }) => {
        requireParams(body, ["roomId", "latest", "oldest"]);
        const room = await services.rooms.find({ roomId: body.roomId as string }, ["c", "p", "d"]);
        if (room.archived) {
          throw new ClientError("error-room-archived", `The channel, ${room.name}, is archived`);
        }
        if (!(await services.authz.canAccessRoom(room, me))) {
          throw new ClientError("error-not-allowed", "User does not have access to the room");
        }
        const count = await cleanRoomHistory(services.deps, me, room._id, {
          latest: dateOf(body.latest as string),
          oldest: dateOf(body.oldest as string),
          inclusive: body.inclusive ?? false,
          limit: body.limit ?? 0,
          excludePinned: body.excludePinned ?? false,
          filesOnly: body.filesOnly ?? false,
          fromUsers: (body.users ?? []).filter(Boolean),
          ignoreDiscussion: body.ignoreDiscussion ?? false,
          ignoreThreads: body.ignoreThreads ?? false,
        });
        return ok({ _id: room._id, count });
      },
      {
        access: true,
        body: CleanHistoryBody,
        detail: {
          summary: "Delete a room's messages between two dates (clean-channel-history)",
          tags: TAGS,
        },
      },
    );
}
