/**
 * The message that shares an upload, in the shape Rocket.Chat's clients render: `file`
 * (the upload), `files` (the upload and, for an image, its thumbnail) and one attachment
 * describing it: `image_url` with `image_dimensions`, `image_preview` and a thumbnail for
 * an image, `audio_url` or `video_url` for sound and video, a download link with the
 * file's `format` and `size` for anything else.
 */
import { ClientError } from "../core/errors.ts";
import type { Message, Room, Upload, User } from "../core/models.ts";
import { MAX_DECODED_IMAGE_BYTES, makePreview, makeThumbnail } from "./images.ts";
import type { Services } from "./index.ts";
import type { MessageDraft } from "./room-commands.ts";
import { insertUpload, UPLOAD_BUCKET, uploadPath } from "./uploads.ts";

/** What the sender adds to a file message, as `rooms.mediaConfirm` and `rooms.upload` take it. */
export interface FileMessageData {
  readonly msg?: string;
  readonly description?: string;
  readonly tmid?: string;
  readonly tshow?: boolean;
  readonly alias?: string;
  readonly emoji?: string;
  readonly avatar?: string;
  readonly customFields?: Record<string, unknown>;
}

/** An entry of a message's `files`. */
function fileEntry(upload: Upload): Record<string, unknown> {
  return {
    _id: upload._id,
    name: upload.name,
    type: upload.type || "file",
    size: upload.size,
    format: upload.identify?.format ?? "",
    typeGroup: upload.typeGroup,
  };
}

/**
 * A thumbnail of image `upload`, stored as an upload of its own (`thumb-<name>`), unless
 * `Message_Attachments_Thumbnails_Enabled` is off or the image already fits the box of
 * `Message_Attachments_Thumbnails_Width` × `_Height`.
 */
async function storeThumbnail(services: Services, upload: Upload): Promise<Upload | undefined> {
  const { settings, deps } = services;
  if (settings.get<boolean>("Message_Attachments_Thumbnails_Enabled") === false) return undefined;
  const width = settings.get<number>("Message_Attachments_Thumbnails_Width") ?? 480;
  const height = settings.get<number>("Message_Attachments_Thumbnails_Height") ?? 360;
  const size = upload.identify?.size;
  if (size && size.width < width && size.height < height) return undefined;
  const bucket = deps.files.bucket(UPLOAD_BUCKET);
  const opened = await bucket.open(upload._id);
  if (!opened) return undefined;
  const svg = upload.type === "image/svg+xml";
  const thumb = await makeThumbnail(opened.stream, width, height, svg);
  const type = `image/${thumb.format === "jpg" ? "jpeg" : thumb.format}`;
  const id = deps.ids.id();
  const now = deps.clock.now();
  await bucket.put(id, thumb.data, type, now);
  return insertUpload(services, {
    _id: id,
    name: `thumb-${upload.name}`,
    size: thumb.data.byteLength,
    type,
    rid: upload.rid,
    userId: upload.userId,
    uploadedAt: now,
    typeGroup: "thumb",
    originalFileId: upload._id,
    identify: { format: thumb.format, size: { width: thumb.width, height: thumb.height } },
  });
}

/** The attachment of image `upload`, with its preview and thumbnail when they can be made. */
async function imageAttachment(
  services: Services,
  upload: Upload,
  files: Record<string, unknown>[],
) {
  const url = uploadPath(upload._id, upload.name);
  const attachment: Record<string, unknown> = {
    image_url: url,
    image_type: upload.type,
    image_size: upload.size,
    ...(upload.identify?.size && { image_dimensions: upload.identify.size }),
  };
  if (upload.size > MAX_DECODED_IMAGE_BYTES) return attachment;
  try {
    const opened = await services.deps.files.bucket(UPLOAD_BUCKET).open(upload._id);
    if (opened) attachment.image_preview = await makePreview(opened.stream);
    const thumb = await storeThumbnail(services, upload);
    if (thumb) {
      attachment.image_url = uploadPath(thumb._id, upload.name);
      attachment.image_type = thumb.type;
      attachment.image_dimensions = thumb.identify?.size;
      files.push(fileEntry(thumb));
    }
  } catch (error) {
    // As in Rocket.Chat, an image that cannot be read is shared without preview or thumbnail.
    services.deps.log.warn({ err: error, fileId: upload._id }, "image preview failed");
  }
  return attachment;
}

/** `file`, `files` and `attachments` of the message sharing `upload`. */
export async function fileMessageParts(services: Services, upload: Upload, description?: string) {
  const url = uploadPath(upload._id, upload.name);
  const files = [fileEntry(upload)];
  const common = {
    title: upload.name,
    type: "file",
    ...(description !== undefined && { description }),
    title_link: url,
    title_link_download: true,
  };
  const [kind] = upload.type.split("/");
  let attachment: Record<string, unknown>;
  if (kind === "image") {
    attachment = {
      ...common,
      ...(description !== undefined && { image_alt: description }),
      ...(await imageAttachment(services, upload, files)),
    };
  } else if (kind === "audio" || kind === "video") {
    attachment = {
      ...common,
      [`${kind}_url`]: url,
      [`${kind}_type`]: upload.type,
      [`${kind}_size`]: upload.size,
    };
  } else {
    attachment = { ...common, format: upload.extension.toUpperCase(), size: upload.size };
  }
  return {
    file: files[0] as Record<string, unknown>,
    files,
    attachments: [{ ...attachment, fileId: upload._id }],
  };
}

/**
 * Sends the message sharing `upload` in `room` as `user`, through the room's actor, with
 * `data`, and keeps the description on the upload's document once it is sent. Throws
 * `error-message-size-exceeded` for a description longer than `Message_MaxAllowedSize`,
 * and whatever the room refuses.
 */
export async function sendFileMessage(
  services: Services,
  user: User,
  room: Room,
  upload: Upload,
  data: FileMessageData,
): Promise<Message> {
  const max = services.settings.get<number>("Message_MaxAllowedSize") ?? 5000;
  if ((data.description?.length ?? 0) > max) throw new ClientError("error-message-size-exceeded");
  const parts = await fileMessageParts(services, upload, data.description);
  const draft: MessageDraft = {
    msg: data.msg ?? "",
    ...(data.tmid !== undefined && { tmid: data.tmid }),
    ...(data.tmid !== undefined && data.tshow !== undefined && { tshow: data.tshow }),
    ...(data.alias !== undefined && { alias: data.alias }),
    ...(data.emoji !== undefined && { emoji: data.emoji }),
    ...(data.avatar !== undefined && { avatar: data.avatar }),
    ...(data.customFields !== undefined && { customFields: data.customFields }),
    ...parts,
  };
  const message = await services.deps.rooms.execute(room._id, { kind: "send", user, draft });
  if (data.description !== undefined) {
    await services.deps.db.uploads.updateOne(
      { _id: upload._id },
      { $set: { description: data.description } },
    );
  }
  return message;
}
