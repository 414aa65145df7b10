/**
 * Discussions over REST: `rooms.createDiscussion`, `rooms.getDiscussions` (the
 * discussion rooms of a room) and `chat.getDiscussions` (the messages of a room that link
 * to a discussion), with Rocket.Chat's parameters, answers and errors.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, User } from "../core/models.ts";
import { createDiscussion, discussionMessages, roomDiscussions } from "../services/discussions.ts";
import type { Services } from "../services/index.ts";
import { apiBase, json, ok, pagination } from "./http.ts";
import { PAGE_QUERY, parseSort, requireParams } from "./room-params.ts";

const CreateBody = t.Object({
  prid: t.Optional(t.Unknown()),
  pmid: t.Optional(t.String()),
  t_name: t.Optional(t.Unknown()),
  reply: t.Optional(t.String()),
  users: t.Optional(t.Unknown()),
  encrypted: t.Optional(t.Unknown()),
  topic: t.Optional(t.String()),
});

/** Rocket.Chat's answer to a body parameter it checks by hand: the sentence alone. */
function bodyFailure(text: string): ClientError {
  return new ClientError("error-invalid-params", text, { plain: true });
}

/** The checked body of `rooms.createDiscussion`, in Rocket.Chat's order and words. */
function discussionInput(body: typeof CreateBody.static) {
  const { prid, t_name: name, users, encrypted } = body;
  if (typeof prid !== "string" || !prid) throw bodyFailure('Body parameter "prid" is required.');
  if (typeof name !== "string" || !name) {
    throw bodyFailure('Body parameter "t_name" is required.');
  }
  if (users !== undefined && users !== null && !Array.isArray(users)) {
    throw bodyFailure('Body parameter "users" must be an array.');
  }
  if (encrypted !== undefined && typeof encrypted !== "boolean") {
    throw bodyFailure('Body parameter "encrypted" must be a boolean when included.');
  }
  return {
    prid,
    name,
    users: (Array.isArray(users) ? users : []).filter(
      (u): u is string => typeof u === "string" && u !== "",
    ),
    ...(body.pmid && { pmid: body.pmid }),
    ...(body.reply && { reply: body.reply }),
    ...(body.topic && { topic: body.topic }),
    ...(encrypted !== undefined && { encrypted }),
  };
}

/**
 * The room `roomId` or `roomName` names, as Rocket.Chat's findRoomByIdOrName finds it
 * for `rooms.*`, and whether `user` may read it. A private room the user cannot read
 * answers as one that does not exist, so that its name is not confirmed to outsiders.
 */
async function namedRoom(
  services: Services,
  user: User,
  query: { roomId?: string; roomName?: string },
): Promise<{ room: Room; readable: boolean }> {
  const { roomId, roomName } = query;
  if ((roomId === undefined && roomName === undefined) || (!roomId && !roomName)) {
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
  const readable = room !== null && (await services.authz.canAccessRoom(room, user));
  if (!room || (!readable && room.t !== "c")) {
    throw new ClientError(
      "error-room-not-found",
      'The required "roomId" or "roomName" param provided does not match any channel',
    );
  }
  if (room.archived) {
    throw new ClientError("error-room-archived", `The channel, ${room.name}, is archived`);
  }
  return { room, readable };
}

/** The discussion routes. */
export function discussionRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/rooms.createDiscussion",
      async ({ me, body }) => {
        const discussion = await createDiscussion(services, me, discussionInput(body));
        return ok({ discussion });
      },
      {
        access: true,
        body: CreateBody,
        detail: {
          summary: "Start a discussion in a room, optionally from one of its messages",
          tags: ["Rooms"],
        },
      },
    )
    .get(
      "/rooms.getDiscussions",
      async ({ me, query }) => {
        const { room, readable } = await namedRoom(services, me, query);
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        // Rocket.Chat's own failure shape here: the code as `error`, the text as `errorType`.
        if (!readable)
          return json(400, { success: false, error: "not-allowed", errorType: "Not Allowed" });
        const page = await roomDiscussions(services, room._id, {
          offset,
          count,
          ...(sort && { sort }),
          ...(query.text && { text: query.text }),
        });
        return ok({ ...page, offset });
      },
      {
        access: true,
        query: t.Object({
          roomId: t.Optional(t.String()),
          roomName: t.Optional(t.String()),
          text: t.Optional(t.String()),
          ...PAGE_QUERY,
        }),
        detail: { summary: "The discussions of a room, by name", tags: ["Rooms"] },
      },
    )
    .get(
      "/chat.getDiscussions",
      async ({ me, query }) => {
        requireParams(query, ["roomId"]);
        const room = await services.rooms.byId(query.roomId as string);
        if (!room || !(await services.authz.canAccessRoom(room, me))) {
          throw new ClientError("error-not-allowed", "error-not-allowed", { plain: true });
        }
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        const page = await discussionMessages(services, room._id, {
          offset,
          count,
          ...(sort && { sort }),
          ...(query.text && { text: query.text }),
        });
        return ok({ ...page, offset });
      },
      {
        access: true,
        query: t.Object({
          roomId: t.Optional(t.String({ minLength: 1 })),
          text: t.Optional(t.String()),
          ...PAGE_QUERY,
        }),
        detail: {
          summary: "The messages of a room that link to its discussions, newest first",
          tags: ["Chat"],
        },
      },
    );
}
