/**
 * Uploading files into rooms, as Rocket.Chat's REST API does: `rooms.media/:rid` stores a
 * file (multipart field `file`) and answers its id and URL, `rooms.mediaConfirm/:rid/:fileId`
 * sends the message sharing it, and `rooms.upload/:rid` does both at once. Bodies are read
 * as a stream (routes/multipart.ts), never whole. `channels.files`, `groups.files`,
 * `im.files` and `dm.files` list a room's files.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, Upload, User } from "../core/models.ts";
import { type FileMessageData, sendFileMessage } from "../services/file-messages.ts";
import type { Services } from "../services/index.ts";
import { discardThumbnails, discardUpload, receiveUpload } from "../services/uploads.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { readableDirect } from "./im.ts";
import { readUpload } from "./multipart.ts";
import { forbidden, PAGE_QUERY, parseSort } from "./room-params.ts";
import { ROOM_REF } from "./room-scope.ts";

const TAGS = ["Rooms"];

/** Room `rid` if `me` may read it, else Rocket.Chat's bare 403. */
async function readableRoom(services: Services, me: User, rid: string): Promise<Room> {
  const room = await services.rooms.byId(rid);
  if (!room || !(await services.authz.canAccessRoom(room, me))) throw forbidden();
  return room;
}

/**
 * A form field holding JSON (`content` of an end-to-end encrypted upload, `customFields`),
 * parsed; undefined when absent or empty, Rocket.Chat's `invalid-field-content` when not
 * JSON.
 */
function parseJsonField(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ClientError("invalid-field-content", undefined, { cause: error });
  }
}

/**
 * Stores the file `request` carries into `room` for `me`; resolves with it and the text
 * fields. `rooms.media` (`temporary`) reads the form's `content`, wherever it comes in the
 * form, as Rocket.Chat's does; `rooms.upload` leaves it to the message.
 */
async function receive(
  services: Services,
  request: Request,
  me: User,
  room: Room,
  temporary: boolean,
) {
  const { fields, stored } = await readUpload(request, {
    field: "file",
    store: (part) =>
      receiveUpload(
        services,
        {
          user: me,
          room,
          temporary,
          ...(temporary && { content: async () => parseJsonField((await part.fields()).content) }),
        },
        { filename: part.filename, mimeType: part.mimeType, chunks: part.chunks },
      ),
    discard: (done) => discardUpload(services.deps, done._id),
  });
  return { fields, upload: stored as Upload };
}

/**
 * Takes upload `fileId` out of the waiting ones for `me` to send in `room`, atomically, so
 * that of several confirms of one file only one goes on. Only the uploader's own file,
 * uploaded to this room and not yet sent, is claimed; resolves with it as it was, else
 * throws Rocket.Chat's `invalid-file`.
 */
async function claimUpload(services: Services, me: User, room: Room, fileId: string) {
  const claimed = await services.deps.db.uploads.findOneAndUpdate(
    { _id: fileId, rid: room._id, userId: me._id, expiresAt: { $exists: true } },
    { $unset: { expiresAt: "" }, $set: { _updatedAt: services.deps.clock.now() } },
    { returnDocument: "before" },
  );
  if (!claimed) throw new ClientError("invalid-file");
  return claimed;
}

/**
 * Puts back a claimed upload whose message could not be sent, so it can be confirmed again,
 * and removes the thumbnail made for that message.
 */
async function releaseUpload(services: Services, upload: Upload): Promise<void> {
  await discardThumbnails(services.deps, upload._id);
  await services.deps.db.uploads.updateOne(
    { _id: upload._id },
    { $set: { expiresAt: upload.expiresAt, _updatedAt: services.deps.clock.now() } },
  );
}

/**
 * What `rooms.mediaConfirm` takes, all optional. `customFields` is JSON text, as
 * Rocket.Chat's clients send it, or an object; `tshow` may come as the text `true`.
 */
const ConfirmBody = t.Object({
  msg: t.Optional(t.String()),
  description: t.Optional(t.String()),
  tmid: t.Optional(t.String()),
  tshow: t.Optional(t.Union([t.Boolean(), t.String()])),
  alias: t.Optional(t.String()),
  emoji: t.Optional(t.String()),
  avatar: t.Optional(t.String()),
  customFields: t.Optional(t.Union([t.String(), t.Record(t.String(), t.Unknown())])),
});

/**
 * Reads the body of `rooms.mediaConfirm`: nothing (an empty object), form fields, or a
 * JSON object. Throws on anything else, malformed JSON, a JSON string or list, plain
 * text, so that the caller gets the 400 of a body that cannot be read, as
 * `chat.postMessage` gives it, before the upload is claimed.
 */
async function confirmBody({ request }: { request: Request }): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === "") return {};
  const type = request.headers.get("content-type") ?? "";
  if (type.startsWith("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  const body: unknown = JSON.parse(text);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new TypeError("The body is not a JSON object");
  }
  return body as Record<string, unknown>;
}

/** What a sender may add to a file message, from form fields or a JSON body. */
function messageData(fields: Record<string, unknown>): FileMessageData {
  const text = (key: string) =>
    typeof fields[key] === "string" ? (fields[key] as string) : undefined;
  const customFields = fields.customFields;
  const data: Record<string, unknown> = {
    msg: text("msg"),
    description: text("description"),
    tmid: text("tmid"),
    alias: text("alias"),
    emoji: text("emoji"),
    avatar: text("avatar"),
    ...(fields.tshow !== undefined && { tshow: fields.tshow === true || fields.tshow === "true" }),
    ...(customFields !== undefined && {
      customFields: typeof customFields === "string" ? parseJsonField(customFields) : customFields,
    }),
  };
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
}

/** `text` with every regular expression symbol escaped, so that it matches only itself. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The files of `room`, by name unless `sort` says otherwise, each with its uploader; only
 * those whose name holds `name` (ignoring case) and of `typeGroup` when they are given.
 */
async function listFiles(
  services: Services,
  room: Room,
  query: { count?: string; offset?: string; sort?: string; name?: string; typeGroup?: string },
) {
  const { count, offset } = pagination(services, query);
  const filter = {
    rid: room._id,
    typeGroup: query.typeGroup ? { $eq: query.typeGroup, $ne: "thumb" } : { $ne: "thumb" },
    expiresAt: { $exists: false },
    ...(query.name && { name: { $regex: literal(query.name), $options: "i" } }),
  };
  const { uploads, users } = services.deps.db;
  const [files, total] = await Promise.all([
    uploads.find(filter, {
      sort: parseSort(query.sort) ?? { name: 1 },
      skip: offset,
      limit: count,
    }),
    uploads.countDocuments(filter),
  ]);
  const uids = [...new Set(files.map((file) => file.userId))];
  const owners = await users.find({ _id: { $in: uids } }, { projection: { username: 1, name: 1 } });
  const byId = new Map(owners.map((user) => [user._id, user]));
  const withUser = files.map((file) => {
    const user = byId.get(file.userId);
    return user
      ? { ...file, user: { _id: user._id, username: user.username, name: user.name } }
      : file;
  });
  return ok({ files: withUser, count: files.length, offset, total });
}

/** How a `*.files` route names its room. */
type FilesRef = { roomId?: string; roomName?: string; username?: string };

/** The upload routes and the file listings of every room prefix. */
export function uploadRoutes(services: Services, log: Logger) {
  const roomFinders = {
    channels: (ref: FilesRef, me: User) =>
      services.rooms.findChannel(ref).then(async (room) => {
        if (!(await services.authz.canAccessRoom(room, me))) throw forbidden();
        return room;
      }),
    groups: (ref: FilesRef, me: User) => services.rooms.findGroup(ref, me),
    im: (ref: FilesRef, me: User) => readableDirect(services, me, ref),
  };
  let app = new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/rooms.media/:rid",
      async ({ me, params, request }) => {
        const room = await readableRoom(services, me, params.rid);
        const { upload } = await receive(services, request, me, room, true);
        return ok({ file: { _id: upload._id, url: upload.path } });
      },
      {
        access: true,
        parse: "none",
        detail: {
          summary: "Upload a file (multipart field `file`) to send with rooms.mediaConfirm",
          tags: TAGS,
        },
      },
    )
    .post(
      "/rooms.mediaConfirm/:rid/:fileId",
      async ({ me, params, body }) => {
        const room = await readableRoom(services, me, params.rid);
        const upload = await claimUpload(services, me, room, params.fileId);
        try {
          const message = await sendFileMessage(services, me, room, upload, messageData(body));
          return ok({ message });
        } catch (error) {
          await releaseUpload(services, upload);
          throw error;
        }
      },
      {
        access: true,
        parse: confirmBody,
        body: ConfirmBody,
        detail: { summary: "Send the message sharing a file uploaded by rooms.media", tags: TAGS },
      },
    )
    .post(
      "/rooms.upload/:rid",
      async ({ me, params, request }) => {
        const room = await readableRoom(services, me, params.rid);
        const { fields, upload } = await receive(services, request, me, room, false);
        try {
          const message = await sendFileMessage(services, me, room, upload, messageData(fields));
          return ok({ message });
        } catch (error) {
          await discardUpload(services.deps, upload._id);
          throw error;
        }
      },
      {
        access: true,
        parse: "none",
        detail: {
          summary: "Upload a file (multipart field `file`) and send it in one message",
          tags: TAGS,
        },
      },
    );
  for (const prefix of ["channels", "groups", "im", "dm"] as const) {
    const find = roomFinders[prefix === "dm" ? "im" : prefix];
    app = app.get(
      `/${prefix}.files`,
      async ({ me, query }) => listFiles(services, await find(query, me), query),
      {
        access: true,
        query: t.Object({
          ...ROOM_REF,
          username: t.Optional(t.String()),
          ...PAGE_QUERY,
          name: t.Optional(t.String()),
          typeGroup: t.Optional(t.String()),
          query: t.Optional(t.String()),
        }),
        detail: { summary: "A room's uploaded files, with who uploaded each", tags: TAGS },
      },
    ) as unknown as typeof app;
  }
  return app;
}
