/**
 * Direct-message management under `im.*` and its alias `dm.*`: `setTopic`, `close` and
 * `open` (hide the DM from the caller's list, show it again) and `delete`. A DM the caller
 * cannot read answers Rocket.Chat's bare 403, as the other `im.*` routes do.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { eraseRoom } from "../services/room-lifecycle.ts";
import { apiBase, ok } from "./http.ts";
import { forbidden, requireOneOf } from "./room-params.ts";
import { failure, saveSettings } from "./room-scope.ts";

const TAGS = ["Direct messages"];

function roomIdRequired(): ClientError {
  return new ClientError("error-room-param-not-provided", 'Body param "roomId" is required');
}

function notADirectMessage(): ClientError {
  return new ClientError(
    "error-room-not-found",
    'The required "roomId" param provided does not match any direct message',
  );
}

/**
 * The direct message `rid` that `user` may read: the bare 403 for a room that does not
 * exist or that the user may not read, `error-room-not-found` for a room of another type.
 */
async function readableDirect(services: Services, user: User, rid: string): Promise<Room> {
  const room = await services.rooms.byId(rid);
  if (!room || !(await services.authz.canAccessRoom(room, user))) throw forbidden();
  if (room.t !== "d") throw notADirectMessage();
  return room;
}

/** The DM named by its id or by the other user's username; never opens a new one. */
async function namedDirect(services: Services, me: User, roomId?: string, username?: string) {
  const { rooms, users } = services.deps.db;
  if (roomId !== undefined) {
    const room = await rooms.findOne({ _id: roomId });
    if (room?.t === "d") return room;
    throw notADirectMessage();
  }
  const peer = await users.findOne({ username });
  const uids = peer ? [...new Set([me._id, peer._id])].sort() : [];
  const room = peer
    ? await rooms.findOne({ t: "d", uids: { $size: uids.length, $all: uids } })
    : null;
  if (!room) throw notADirectMessage();
  return room;
}

/** The routes of one prefix, `im` or its alias `dm`. */
function directRoutes(services: Services, log: Logger, prefix: string) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      `/${prefix}.setTopic`,
      async ({ me, body }) => {
        if (!body.roomId) throw roomIdRequired();
        const room = await readableDirect(services, me, body.roomId);
        await saveSettings(services, room, me, { roomTopic: body.topic ?? "" });
        return ok({ topic: body.topic });
      },
      {
        access: true,
        body: t.Object({ roomId: t.Optional(t.String()), topic: t.Optional(t.String()) }),
        detail: { summary: "Set a direct message's topic (edit-room)", tags: TAGS },
      },
    )
    .post(
      `/${prefix}.close`,
      async ({ me, body }) => {
        if (!body.roomId) throw roomIdRequired();
        // A subscription whose room is gone may still be closed, as Rocket.Chat allows.
        const exists = (await services.rooms.byId(body.roomId)) !== null;
        if (exists) await readableDirect(services, me, body.roomId);
        const sub = await services.rooms.subscription(body.roomId, me._id);
        if (!sub) throw failure("The user is not subscribed to the room");
        if (!sub.open) throw failure("The direct message room, is already closed to the sender");
        if (exists) await services.deps.rooms.execute(body.roomId, { kind: "sub.hide", user: me });
        else
          await services.deps.db.subscriptions.updateOne(
            { _id: sub._id },
            { $set: { open: false } },
          );
        return ok();
      },
      {
        access: true,
        body: t.Object({ roomId: t.Optional(t.String()) }),
        detail: { summary: "Hide a direct message from the caller's list", tags: TAGS },
      },
    )
    .post(
      `/${prefix}.open`,
      async ({ me, body }) => {
        if (!body.roomId) throw roomIdRequired();
        const room = await readableDirect(services, me, body.roomId);
        const sub = await services.rooms.subscription(room._id, me._id);
        if (!sub?.open) await services.deps.rooms.execute(room._id, { kind: "sub.open", user: me });
        return ok();
      },
      {
        access: true,
        body: t.Object({ roomId: t.Optional(t.String()) }),
        detail: { summary: "Show a hidden direct message in the caller's list again", tags: TAGS },
      },
    )
    .post(
      `/${prefix}.delete`,
      async ({ me, body }) => {
        requireOneOf(body, ["roomId", "username"]);
        const room = await namedDirect(services, me, body.roomId, body.username);
        const mayRead = await services.authz.canAccessRoom(room, me);
        if (!mayRead && !(await services.authz.can(me, "view-room-administration"))) {
          throw new ClientError("error-not-allowed", "Not allowed");
        }
        await eraseRoom(services, me, room._id);
        return ok();
      },
      {
        access: true,
        body: t.Object({ roomId: t.Optional(t.String()), username: t.Optional(t.String()) }),
        detail: { summary: "Delete a direct message with its messages (delete-d)", tags: TAGS },
      },
    );
}

/** The direct-message management routes, under `im.*` and `dm.*`. */
export function imSettingsRoutes(services: Services, log: Logger) {
  return new Elysia().use(directRoutes(services, log, "im")).use(directRoutes(services, log, "dm"));
}
