/**
 * `chat.react`, `chat.pinMessage`, `chat.unPinMessage`, `chat.starMessage`,
 * `chat.unStarMessage`, and the lists `chat.getPinnedMessages`, `chat.getStarredMessages`
 * and `chat.getMentionedMessages`, with Rocket.Chat's parameters, answers and errors.
 * Marks are set by the room's actor (mark-commands.ts); this file checks the request and
 * shapes the answer.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Message, Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { assertStarringAllowed } from "../services/mark-commands.ts";
import { reactCommand } from "../services/message-methods.ts";
import type { MessageFilter } from "../services/messages.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { PAGE_QUERY, parseSort, requireOneOf } from "./room-params.ts";

const MessageIdBody = t.Object({ messageId: t.String({ minLength: 1 }) });

const ReactBody = t.Object({
  messageId: t.String({ minLength: 1 }),
  emoji: t.Optional(t.String()),
  reaction: t.Optional(t.String()),
  shouldReact: t.Optional(t.Boolean()),
});

const ListQuery = t.Object({ roomId: t.String({ minLength: 1 }), ...PAGE_QUERY });

/** The message a mark names, or Rocket.Chat's `error-message-not-found`. */
async function markedMessage(services: Services, messageId: string): Promise<Message> {
  const message = await services.messages.byId(messageId);
  if (!message || message._hidden) {
    throw new ClientError(
      "error-message-not-found",
      'The provided "messageId" does not match any existing message.',
    );
  }
  return message;
}

/**
 * `message` as `uid` may see it: of the users who starred it, only `uid` is listed, as
 * Rocket.Chat's normalizeMessagesForUser shows it.
 */
function forReader(message: Message, uid: string): Message {
  if (!Array.isArray(message.starred)) return message;
  return { ...message, starred: message.starred.filter((s) => s._id === uid) };
}

/** One page of `room`'s messages that pass `filter`, as the list routes answer it. */
async function listPage(
  services: Services,
  room: Room,
  me: User,
  query: { count?: string; offset?: string; sort?: string },
  filter: MessageFilter,
) {
  const { count, offset } = pagination(services, query);
  const sort = parseSort(query.sort);
  const { messages, total } = await services.messages.list(room._id, {
    offset,
    count,
    ...(sort && { sort }),
    filter,
  });
  return ok({
    messages: messages.map((m) => forReader(m, me._id)),
    count: messages.length,
    offset,
    total,
  });
}

/**
 * The room `roomId` if `me` may read it; else Rocket.Chat's bare `error-not-allowed`,
 * for a room that does not exist too.
 */
async function readableRoom(services: Services, me: User, roomId: string): Promise<Room> {
  const room = await services.rooms.byId(roomId);
  if (!room || !(await services.authz.canAccessRoom(room, me))) {
    throw new ClientError("error-not-allowed", "error-not-allowed", { plain: true });
  }
  return room;
}

/** The routes that mark messages and list marked ones. */
export function chatMarkRoutes(services: Services, log: Logger) {
  const star = (starred: boolean) => async (me: User, messageId: string) => {
    const message = await markedMessage(services, messageId);
    assertStarringAllowed(services);
    await services.deps.rooms.execute(message.rid, {
      kind: "star",
      user: me,
      msgId: message._id,
      starred,
    });
    return ok();
  };

  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/chat.react",
      async ({ me, body }) => {
        requireOneOf(body, ["emoji", "reaction"]);
        const message = await markedMessage(services, body.messageId);
        const emoji = body.emoji ?? body.reaction;
        if (!emoji) {
          throw new ClientError(
            "error-emoji-param-not-provided",
            'The required "emoji" param is missing.',
          );
        }
        const command = reactCommand(me, message, emoji, body.shouldReact);
        await services.deps.rooms.execute(message.rid, command);
        return ok();
      },
      {
        access: true,
        body: ReactBody,
        detail: {
          summary: "React to a message with an emoji shortcode, or take the reaction back",
          tags: ["Chat"],
        },
      },
    )
    .post(
      "/chat.pinMessage",
      async ({ me, body }) => {
        const message = await markedMessage(services, body.messageId);
        const notice = await services.deps.rooms.execute(message.rid, {
          kind: "pin",
          user: me,
          msgId: message._id,
        });
        return ok({ message: forReader(notice, me._id) });
      },
      {
        access: true,
        body: MessageIdBody,
        detail: { summary: "Pin a message; answers the pin's system message", tags: ["Chat"] },
      },
    )
    .post(
      "/chat.unPinMessage",
      async ({ me, body }) => {
        const message = await markedMessage(services, body.messageId);
        await services.deps.rooms.execute(message.rid, {
          kind: "unpin",
          user: me,
          msgId: message._id,
        });
        return ok();
      },
      { access: true, body: MessageIdBody, detail: { summary: "Unpin a message", tags: ["Chat"] } },
    )
    .post("/chat.starMessage", ({ me, body }) => star(true)(me, body.messageId), {
      access: true,
      body: MessageIdBody,
      detail: { summary: "Star a message for oneself", tags: ["Chat"] },
    })
    .post("/chat.unStarMessage", ({ me, body }) => star(false)(me, body.messageId), {
      access: true,
      body: MessageIdBody,
      detail: { summary: "Take one's star off a message", tags: ["Chat"] },
    })
    .get(
      "/chat.getPinnedMessages",
      async ({ me, query }) => {
        const room = await services.rooms.byId(query.roomId);
        if (!room || !(await services.authz.canAccessRoom(room, me))) {
          throw new ClientError("error-not-allowed", "Not allowed");
        }
        return listPage(services, room, me, query, { pinned: true });
      },
      {
        access: true,
        query: ListQuery,
        detail: { summary: "The pinned messages of a room, newest first", tags: ["Chat"] },
      },
    )
    .get(
      "/chat.getStarredMessages",
      async ({ me, query }) => {
        const room = await readableRoom(services, me, query.roomId);
        return listPage(services, room, me, query, { starredIds: [me._id] });
      },
      {
        access: true,
        query: ListQuery,
        detail: { summary: "The messages of a room the caller starred", tags: ["Chat"] },
      },
    )
    .get(
      "/chat.getMentionedMessages",
      async ({ me, query }) => {
        const room = await readableRoom(services, me, query.roomId);
        return listPage(services, room, me, query, { mentionIds: [me._id] });
      },
      {
        access: true,
        query: ListQuery,
        detail: { summary: "The messages of a room that mention the caller", tags: ["Chat"] },
      },
    );
}
