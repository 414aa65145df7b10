/**
 * `chat.*`: posting, sending, editing, deleting and reading single messages, with
 * Rocket.Chat's parameters, answers and error texts. Every write goes through the room's
 * actor; this file only checks the request and shapes the answer.
 */
import { Elysia, t } from "elysia";
import { ClientError, invalidParams } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import {
  assertCustomFields,
  assertMessageShape,
  assertMessageSize,
} from "../services/message-validation.ts";
import { postMessage } from "../services/post-message.ts";
import type { MessageDraft } from "../services/room-commands.ts";
import { apiBase, ok } from "./http.ts";

const Targets = t.Union([t.String(), t.Array(t.String())]);
// Items are checked by hand (see objectList): Elysia turns a string item into an object
// of its characters before a record schema sees it.
const Attachments = t.Array(t.Unknown());
const CustomFields = t.Record(t.String(), t.Unknown());

const PostMessageBody = t.Object({
  roomId: t.Optional(Targets),
  channel: t.Optional(Targets),
  text: t.Optional(t.String()),
  alias: t.Optional(t.String()),
  emoji: t.Optional(t.String()),
  avatar: t.Optional(t.String()),
  attachments: t.Optional(Attachments),
  tmid: t.Optional(t.String()),
  // Checked as Rocket.Chat's schema checks it, though a post never shows a reply in the room.
  tshow: t.Optional(t.Boolean()),
  customFields: t.Optional(CustomFields),
  parseUrls: t.Optional(t.Boolean()),
});

const SendMessageBody = t.Object({
  message: t.Object({
    _id: t.Optional(t.String()),
    rid: t.Optional(t.String()),
    tmid: t.Optional(t.String()),
    msg: t.Optional(t.String()),
    alias: t.Optional(t.String()),
    emoji: t.Optional(t.String()),
    avatar: t.Optional(t.String()),
    tshow: t.Optional(t.Boolean()),
    t: t.Optional(t.String()),
    attachments: t.Optional(Attachments),
    blocks: t.Optional(Attachments),
    customFields: t.Optional(CustomFields),
  }),
  previewUrls: t.Optional(t.Array(t.String())),
});

const UpdateBody = t.Object({
  roomId: t.String(),
  msgId: t.String(),
  text: t.String({ minLength: 1 }),
  previewUrls: t.Optional(t.Array(t.String())),
  customFields: t.Optional(CustomFields),
});

const DeleteBody = t.Object({
  roomId: t.String(),
  msgId: t.String(),
  asUser: t.Optional(t.Boolean()),
});

/** A failure Rocket.Chat reports as a bare string, without `errorType`. */
function failure(text: string): ClientError {
  return new ClientError(text, text, { plain: true });
}

/**
 * Rocket.Chat's REST send path reports refused access as the bare string
 * "error-not-allowed", where DDP wraps it in a Meteor error; this restores the REST form.
 */
function restSendError(error: unknown): unknown {
  const refusedAccess = error instanceof ClientError && error.reason === "Not allowed";
  if (refusedAccess && error.error === "error-not-allowed" && !error.plain) {
    return new ClientError("error-not-allowed", "error-not-allowed", { plain: true, cause: error });
  }
  return error;
}

/** The message `msgId` that the caller names in room `roomId`, or Rocket.Chat's failure texts. */
async function namedMessage(services: Services, roomId: string, msgId: string) {
  const message = await services.messages.byId(msgId);
  if (!message) throw failure(`No message found with the id of "${msgId}".`);
  if (message.rid !== roomId)
    throw failure("The room id provided does not match where the message is from.");
  return message;
}

/**
 * The message `msgId` if `user` may read its room, else null: a message the caller
 * cannot read is treated as one that does not exist.
 */
async function readableMessage(services: Services, user: User, msgId: string) {
  const message = await services.messages.byId(msgId);
  const room = message && (await services.rooms.byId(message.rid));
  return room && (await services.authz.canAccessRoom(room, user)) ? message : null;
}

/** Sends `draft` as `user` to room `rid` through the room's actor. */
async function send(services: Services, rid: string, user: User, draft: MessageDraft) {
  try {
    return await services.deps.rooms.execute(rid, { kind: "send", user, draft });
  } catch (error) {
    throw restSendError(error);
  }
}

/**
 * `list` (the body field `field`) as objects, or undefined when absent. Throws
 * `invalid-params` in ajv's words, naming the first item that is not a plain object.
 */
function objectList(list: unknown[] | undefined, field: string) {
  const index = list?.findIndex((v) => v === null || typeof v !== "object" || Array.isArray(v));
  if (index !== undefined && index >= 0) {
    throw invalidParams(`must match the schema at '${field}.${index}': expected object`);
  }
  return list as Record<string, unknown>[] | undefined;
}

/** The `chat.*` routes. */
export function chatRoutes(services: Services, log: Logger) {
  const maxSize = () => services.settings.get<number>("Message_MaxAllowedSize") ?? 5000;
  const tooLong = (text: unknown) => typeof text === "string" && text.length > maxSize();

  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/chat.postMessage",
      async ({ me, body }) => {
        const { attachments: listed, ...fields } = body;
        const attachments = objectList(listed, "attachments");
        const input = { ...fields, ...(attachments && { attachments }) };
        if (tooLong(body.text) || attachments?.some((a) => tooLong(a.text))) {
          throw failure("error-message-size-exceeded");
        }
        // Before a channel is joined or a direct message opened on the way.
        assertMessageShape(input, "sendMessage");
        const [first] = await postMessage(services, me, input).catch((error) => {
          throw restSendError(error);
        });
        if (!first) throw failure("unknown-error");
        return ok({
          ts: services.deps.clock.now().getTime(),
          channel: first.channel,
          message: first.message,
        });
      },
      {
        access: true,
        body: PostMessageBody,
        detail: {
          summary:
            "Post a message to a channel, group or direct message named by id, #name or @user",
          tags: ["Chat"],
        },
      },
    )
    .post(
      "/chat.sendMessage",
      async ({ me, body }) => {
        const { attachments: listed, ...fields } = body.message;
        objectList(fields.blocks, "message.blocks");
        const attachments = objectList(listed, "message.attachments");
        const m = { ...fields, ...(attachments && { attachments }) };
        if (m.t !== undefined)
          throw failure("Cannot send system messages using 'chat.sendMessage'");
        if (m.tshow && !m.tmid) {
          const details = { method: "sendMessage" };
          throw new ClientError("invalid-params", "tshow provided but missing tmid", { details });
        }
        assertMessageSize(services.settings, m.msg, "sendMessage");
        assertMessageShape(m, "sendMessage");

        // A reply goes to its parent's room, as in Rocket.Chat, when the caller can read it;
        // the room actor then puts it in the parent's thread.
        const parent = m.tmid ? await readableMessage(services, me, m.tmid) : null;
        const rid = parent?.rid ?? m.rid;
        const tmid = m.tmid;
        if (!rid) throw failure("The 'rid' property on the message object is missing.");
        if (!(await services.rooms.byId(rid))) throw failure("error-invalid-room");

        const draft: MessageDraft = {
          ...(m._id !== undefined && { _id: m._id }),
          msg: m.msg ?? "",
          ...(tmid !== undefined && { tmid }),
          ...(tmid !== undefined && m.tshow !== undefined && { tshow: m.tshow }),
          ...(m.alias !== undefined && { alias: m.alias }),
          ...(m.emoji !== undefined && { emoji: m.emoji }),
          ...(m.avatar !== undefined && { avatar: m.avatar }),
          ...(attachments && { attachments }),
          ...(m.customFields !== undefined && { customFields: m.customFields }),
        };
        return ok({ message: await send(services, rid, me, draft) });
      },
      {
        access: true,
        body: SendMessageBody,
        detail: {
          summary: "Send a message (optionally with its own _id) to one room",
          tags: ["Chat"],
        },
      },
    )
    .post(
      "/chat.update",
      async ({ me, body }) => {
        const original = await namedMessage(services, body.roomId, body.msgId);
        assertCustomFields(services.settings, body.customFields);
        const message = await services.deps.rooms
          .execute(original.rid, { kind: "update", user: me, msgId: original._id, text: body.text })
          .catch((error) => {
            throw restSendError(error);
          });
        return ok({ message });
      },
      {
        access: true,
        body: UpdateBody,
        detail: { summary: "Edit the text of a message", tags: ["Chat"] },
      },
    )
    .post(
      "/chat.delete",
      async ({ me, body }) => {
        const message = await namedMessage(services, body.roomId, body.msgId);
        const othersMessage = message.u._id !== me._id;
        if (
          body.asUser &&
          othersMessage &&
          !(await services.authz.can(me, "force-delete-message", message.rid))
        ) {
          throw failure(
            `Unauthorized. You must have the permission "force-delete-message" to delete other's message as them.`,
          );
        }
        // `asUser` deletes in the author's name, so the author's own rights apply.
        const actor = body.asUser
          ? await services.deps.db.users.findOne({ _id: message.u._id })
          : me;
        if (!actor) throw failure("User not found");
        await services.deps.rooms.execute(message.rid, {
          kind: "delete",
          user: actor,
          msgId: message._id,
        });
        return ok({
          _id: message._id,
          ts: String(services.deps.clock.now().getTime()),
          message: { _id: message._id, rid: message.rid, u: message.u },
        });
      },
      {
        access: true,
        body: DeleteBody,
        detail: { summary: "Delete a message, optionally as its author", tags: ["Chat"] },
      },
    )
    .get(
      "/chat.getMessage",
      async ({ me, query }) => {
        const message = await services.messages.byId(query.msgId);
        // Rocket.Chat answers an unknown id with a bare `{success: false}`; an old version
        // kept as edit history answers the same, as no read shows one.
        if (!message || message._hidden)
          throw new ClientError("error-message-not-found", undefined, { plain: true });
        const room = await services.rooms.byId(message.rid);
        if (!room || !(await services.authz.canAccessRoom(room, me))) {
          throw new ClientError("error-not-allowed", "Not allowed", {
            details: { method: "getSingleMessage" },
          });
        }
        return ok({ message });
      },
      {
        access: true,
        query: t.Object({ msgId: t.String({ minLength: 1 }) }),
        detail: { summary: "One message by id, if the caller can read its room", tags: ["Chat"] },
      },
    );
}
