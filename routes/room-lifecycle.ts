/**
 * The lifecycle routes of `channels.*` and `groups.*`, built once for both prefixes:
 * `archive`, `unarchive` and `delete` for the room, `close` and `open` to hide the room
 * from the caller's list and show it again. Channels check their room parameters as
 * Rocket.Chat's schemas do; the wording of each refusal follows each prefix's handler.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Room } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { eraseRoom } from "../services/room-lifecycle.ts";
import { apiBase, ok } from "./http.ts";
import { requireOneOf } from "./room-params.ts";
import { CHANNELS, failure, GROUPS, pathOf, ROOM_REF, type RoomKind } from "./room-scope.ts";

const Body = t.Object(ROOM_REF);

/** How the answers name a room: a discussion by its shown name. */
function nameOf(room: Room): string {
  return (room.prid ? room.fname : room.name) ?? "";
}

/** Channels take exactly one of `roomId` and `roomName`, as their schemas say. */
function checkRef(kind: RoomKind, body: Record<string, unknown>): void {
  if (kind === CHANNELS) requireOneOf(body, ["roomId", "roomName"]);
}

/** `archive`, `unarchive` and `delete`. */
function roomRoutes(services: Services, log: Logger, kind: RoomKind) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      pathOf(kind, "archive"),
      async ({ me, body }) => {
        checkRef(kind, body);
        const room = await kind.find(services, body, me, true);
        await services.deps.rooms.execute(room._id, { kind: "settings.archive", user: me });
        return ok();
      },
      {
        access: true,
        body: Body,
        detail: { summary: `Archive a ${kind.noun} (archive-room)`, tags: kind.tags },
      },
    )
    .post(
      pathOf(kind, "unarchive"),
      async ({ me, body }) => {
        checkRef(kind, body);
        const room = await kind.find(services, body, me, false);
        // Only channels.unarchive refuses a room that is not archived.
        if (kind === CHANNELS && !room.archived) {
          throw failure(`The channel, ${room.name}, is not archived`);
        }
        await services.deps.rooms.execute(room._id, { kind: "settings.unarchive", user: me });
        return ok();
      },
      {
        access: true,
        body: Body,
        detail: { summary: `Unarchive a ${kind.noun} (unarchive-room)`, tags: kind.tags },
      },
    )
    .post(
      pathOf(kind, "delete"),
      async ({ me, body }) => {
        checkRef(kind, body);
        const room = await kind.find(services, body, me, false);
        await eraseRoom(services, me, room._id);
        return ok();
      },
      {
        access: true,
        body: Body,
        detail: {
          summary: `Delete a ${kind.noun} with its messages and discussions (delete-${kind === CHANNELS ? "c" : "p"})`,
          tags: kind.tags,
        },
      },
    );
}

/** `close` and `open`: the caller's subscription, hidden from their list or shown again. */
function visibilityRoutes(services: Services, log: Logger, kind: RoomKind) {
  const toggle = async (room: Room, uid: string, open: boolean) => {
    const sub = await services.rooms.subscription(room._id, uid);
    const name = nameOf(room);
    if (!sub && kind === CHANNELS) {
      // Rocket.Chat's two texts differ by where the closing quote goes.
      throw failure(`The user/callee is not in the channel "${name}${open ? '".' : "."}`);
    }
    if (Boolean(sub?.open) === open) {
      const state = open ? "open" : "closed";
      const to = kind === CHANNELS || !open ? "to" : "for";
      throw failure(`The ${kind.noun}, ${name}, is already ${state} ${to} the sender`);
    }
  };
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      pathOf(kind, "close"),
      async ({ me, body }) => {
        const room = await kind.find(services, body, me, false);
        await toggle(room, me._id, false);
        await services.deps.rooms.execute(room._id, { kind: "sub.hide", user: me });
        return ok();
      },
      {
        access: true,
        body: Body,
        detail: { summary: `Hide a ${kind.noun} from the caller's list`, tags: kind.tags },
      },
    )
    .post(
      pathOf(kind, "open"),
      async ({ me, body }) => {
        checkRef(kind, body);
        const room = await kind.find(services, body, me, false);
        await toggle(room, me._id, true);
        await services.deps.rooms.execute(room._id, { kind: "sub.open", user: me });
        return ok();
      },
      {
        access: true,
        body: Body,
        detail: {
          summary: `Show a hidden ${kind.noun} in the caller's list again`,
          tags: kind.tags,
        },
      },
    );
}

/** The lifecycle routes of `channels.*` and `groups.*`. */
export function roomLifecycleRoutes(services: Services, log: Logger) {
  return new Elysia()
    .use(roomRoutes(services, log, CHANNELS))
    .use(roomRoutes(services, log, GROUPS))
    .use(visibilityRoutes(services, log, CHANNELS))
    .use(visibilityRoutes(services, log, GROUPS));
}
