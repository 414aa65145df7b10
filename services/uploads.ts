/**
 * Uploaded files, as Rocket.Chat keeps them: the bytes in file storage (bucket `uploads`,
 * one blob per upload id, so that no name a client sends ever becomes a path) and a
 * document in `rocketchat_uploads`. An upload is checked before its bytes are read
 * (uploads on, direct messages allowed, the media type allowed), limited to
 * `FileUpload_MaxFileSize` while it streams in, checked again once the whole form is read
 * (an end-to-end encrypted upload learns it is one only from a field that may follow the
 * file), and measured if it is an image; its document is written only once all of that
 * succeeded, so an upload refused or cut off halfway leaves neither a file nor a document.
 */
import { lookup } from "mime-types";
import { ClientError } from "../core/errors.ts";
import type { Message, Room, Upload, User } from "../core/models.ts";
import { type ByteSource, FileTooLargeError } from "../store/files.ts";
import type { Deps } from "./context.ts";
import { identifyImage, isMeasuredImage, turnUpright } from "./images.ts";
import type { Services } from "./index.ts";
import type { Settings } from "./settings.ts";

/** The file storage bucket of uploads. */
export const UPLOAD_BUCKET = "uploads";

/** How long a file uploaded by `rooms.media` waits for its message before it expires. */
const TEMPORARY_MS = 24 * 60 * 60 * 1000;

/** Expired temporary uploads removed at most per new upload. */
const SWEEP_BATCH = 20;

/** A file as its uploader describes it, with its bytes still to come. */
export interface IncomingFile {
  readonly filename: string;
  readonly mimeType: string;
  readonly chunks: ByteSource;
}

/** Where an upload goes and who sends it. */
export interface UploadTarget {
  readonly user: User;
  readonly room: Room;
  /** `rooms.media`: the file waits for `rooms.mediaConfirm` and expires otherwise. */
  readonly temporary: boolean;
  /**
   * `rooms.media`: the upload's `content`, called once the file's bytes are stored, since
   * the form may carry it after the file; undefined when the form has none. It is stored
   * as given, and when it is end-to-end encrypted content the file's type is hidden.
   */
  readonly content?: () => Promise<unknown>;
}

/** The type every end-to-end encrypted upload takes, whatever its client declared. */
const ENCRYPTED_TYPE = "application/octet-stream";

/**
 * Whether `content` is end-to-end encrypted content, as Rocket.Chat tells one: an object
 * with an `algorithm` and a `ciphertext`, neither empty. Limitation: Parley has no
 * `E2E_Enable_Encrypt_Files`, so encrypted uploads are always accepted, as Rocket.Chat
 * accepts them by default; a workspace cannot turn them off.
 */
function isEncrypted(content: unknown): boolean {
  if (typeof content !== "object" || content === null) return false;
  const { algorithm, ciphertext } = content as Record<string, unknown>;
  return Boolean(algorithm) && Boolean(ciphertext);
}

/**
 * The type an upload is taken to have, as Rocket.Chat takes it: the type its client
 * declared, unless that says nothing (`application/octet-stream` or none), when the file
 * name's extension decides. The bytes are not sniffed.
 */
export function uploadType(declared: string, filename: string): string {
  const type = declared.split(";")[0]?.trim().toLowerCase() ?? "";
  if (type && type !== "application/octet-stream") return type;
  return lookup(filename) || "application/octet-stream";
}

/**
 * A media type as RFC 6838 names one, lower case and without parameters: a type and a
 * subtype of at most 127 characters each, starting with a letter or digit.
 */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Whether `type` matches an entry of a comma-separated list (`image/*` matches any image). */
function listed(list: string, type: string): boolean {
  const major = type.split("/")[0];
  return list
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .some((entry) => entry === type || entry === `${major}/*`);
}

/**
 * Whether `type` may be uploaded: a well-formed media type, not on
 * `FileUpload_MediaTypeBlackList` and on `whiteList` (by default
 * `FileUpload_MediaTypeWhiteList`), unless that is empty or `*`.
 */
export function typeAllowed(
  settings: Settings,
  type: string,
  whiteList = settings.get<string>("FileUpload_MediaTypeWhiteList") ?? "",
): boolean {
  const black = settings.get<string>("FileUpload_MediaTypeBlackList") ?? "";
  const white = whiteList.trim();
  if (!MEDIA_TYPE.test(type) || listed(black, type)) return false;
  return white === "" || white === "*" || listed(white, type);
}

/**
 * Whether an upload of `type` may be kept, `encrypted` or not. An encrypted upload's type
 * is `application/octet-stream`, which takes the place of the white list, so that only the
 * black list can refuse it.
 */
function uploadAllowed(settings: Settings, type: string, encrypted: boolean): boolean {
  return typeAllowed(settings, type, encrypted ? ENCRYPTED_TYPE : undefined);
}

/**
 * Throws Rocket.Chat's refusals of any upload to `room`: `error-file-upload-disabled`
 * while `FileUpload_Enabled` is off, `error-direct-message-file-upload-not-allowed` in a
 * direct message while `FileUpload_Enabled_Direct` is off.
 */
export function assertUploadsAllowed(settings: Settings, room: Room): void {
  if (settings.get<boolean>("FileUpload_Enabled") === false) {
    throw new ClientError("error-file-upload-disabled", "File uploads are disabled.");
  }
  if (room.t === "d" && settings.get<boolean>("FileUpload_Enabled_Direct") === false) {
    throw new ClientError(
      "error-direct-message-file-upload-not-allowed",
      "File sharing not allowed in direct messages.",
    );
  }
}

function invalidType(): ClientError {
  return new ClientError("error-invalid-file-type", "File type is not accepted.");
}

/** `/file-upload/<id>/<name>`: where an upload is served. */
export function uploadPath(id: string, name: string): string {
  return `/file-upload/${id}/${encodeURI(name)}`;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

/** The `store` an upload names: Rocket.Chat's name of the storage that holds its bytes. */
function storeName(deps: Deps): string {
  return deps.config.mongoUrl ? "GridFS:Uploads" : "FileSystem:Uploads";
}

/**
 * Stores `file` for `target` and writes its document: checks the room allows uploads and
 * the type is a well-formed media type and allowed (`error-invalid-file-type`) before
 * reading a byte, stops with `error-file-too-large` past `FileUpload_MaxFileSize` (-1: no
 * limit), then, with the upload's `content` known, checks its type again and measures a
 * bitmap image, refusing one whose bytes are not such an image. An upload that may still
 * turn out encrypted is refused before its bytes only if it would be refused either way.
 * Resolves with the document; on any failure nothing is kept.
 */
export async function receiveUpload(
  services: Services,
  target: UploadTarget,
  file: IncomingFile,
): Promise<Upload> {
  const { settings, deps } = services;
  assertUploadsAllowed(settings, target.room);
  const declared = uploadType(file.mimeType, file.filename);
  const mayBeEncrypted = target.content !== undefined;
  const acceptedSomeWay =
    uploadAllowed(settings, declared, false) ||
    (mayBeEncrypted && uploadAllowed(settings, ENCRYPTED_TYPE, true));
  if (!acceptedSomeWay) throw invalidType();
  await sweepExpired(deps);

  const bucket = deps.files.bucket(UPLOAD_BUCKET);
  const id = deps.ids.id();
  const now = deps.clock.now();
  const maxBytes = settings.get<number>("FileUpload_MaxFileSize") ?? -1;
  // While the bytes arrive it is not known yet whether an upload that may be encrypted is
  // one, so its blob is labelled with the type that discloses nothing; the document
  // carries the type the upload is served with.
  const blobType = mayBeEncrypted ? ENCRYPTED_TYPE : declared;
  const size = await bucket.write(id, file.chunks, blobType, now, maxBytes).catch((error) => {
    if (error instanceof FileTooLargeError) throw new ClientError("error-file-too-large");
    throw error;
  });
  try {
    const content = await target.content?.();
    const encrypted = isEncrypted(content);
    const type = encrypted ? ENCRYPTED_TYPE : declared;
    if (!uploadAllowed(settings, type, encrypted)) throw invalidType();
    const measured = isMeasuredImage(type, size) ? await measure(services, id) : undefined;
    const identify = measured?.identity;
    const stored =
      measured && !measured.upright && settings.get<boolean>("FileUpload_RotateImages") !== false
        ? await storeUpright(services, id, blobType, now)
        : size;
    return await insertUpload(services, {
      _id: id,
      name: file.filename,
      size: stored,
      type,
      rid: target.room._id,
      userId: target.user._id,
      uploadedAt: now,
      ...(identify && { identify }),
      ...(content !== undefined && { content }),
      ...(target.temporary && { expiresAt: new Date(now.getTime() + TEMPORARY_MS) }),
    });
  } catch (error) {
    await bucket.delete(id);
    throw error;
  }
}

/** The format and dimensions of stored upload `id`; throws `error-invalid-file-type` if not an image. */
async function measure(services: Services, id: string) {
  const opened = await services.deps.files.bucket(UPLOAD_BUCKET).open(id);
  if (!opened) throw invalidType();
  return identifyImage(opened.stream).catch((error: unknown) => {
    throw new ClientError(
      "error-invalid-file-type",
      "The file's content is not an image of its type",
      { cause: error },
    );
  });
}

/**
 * Replaces stored image `id` with the same picture turned as its EXIF orientation says,
 * as Rocket.Chat does while `FileUpload_RotateImages` is on, so that every client shows it
 * the right way up; resolves with its new size.
 */
async function storeUpright(services: Services, id: string, type: string, now: Date) {
  const bucket = services.deps.files.bucket(UPLOAD_BUCKET);
  const opened = await bucket.open(id);
  if (!opened) throw invalidType();
  const data = await turnUpright(opened.stream);
  await bucket.put(id, data, type, now);
  return data.byteLength;
}

/** What a new upload document needs besides what every one has. */
export type UploadFields = Pick<
  Upload,
  "_id" | "name" | "size" | "type" | "rid" | "userId" | "uploadedAt"
> &
  Partial<Pick<Upload, "identify" | "content" | "expiresAt" | "originalFileId" | "typeGroup">>;

/** Writes the document of an upload whose bytes are stored, with Rocket.Chat's fields. */
export async function insertUpload(services: Services, fields: UploadFields): Promise<Upload> {
  const { deps } = services;
  const path = uploadPath(fields._id, fields.name);
  const root = services.settings.get<string>("Site_Url") ?? deps.config.rootUrl;
  const upload: Upload = {
    typeGroup: fields.type.split("/")[0] ?? "",
    ...fields,
    store: storeName(deps),
    complete: true,
    uploading: false,
    progress: 1,
    extension: extensionOf(fields.name),
    etag: deps.ids.id(),
    path,
    url: `${root.replace(/\/$/, "")}${path}`,
    _updatedAt: fields.uploadedAt,
  };
  await deps.db.uploads.insertOne(upload);
  return upload;
}

/** Removes uploads `ids`: their documents, then their bytes. */
export async function removeUploads(deps: Deps, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await deps.db.uploads.deleteMany({ _id: { $in: [...ids] } });
  const bucket = deps.files.bucket(UPLOAD_BUCKET);
  for (const id of ids) await bucket.delete(id);
}

/** The ids of the thumbnails made of upload `id`. */
async function thumbnailIds(deps: Deps, id: string): Promise<string[]> {
  const thumbs = await deps.db.uploads.find({ originalFileId: id }, { projection: { _id: 1 } });
  return thumbs.map((thumb) => thumb._id);
}

/** Removes upload `id` and the thumbnails made of it. */
export async function discardUpload(deps: Deps, id: string): Promise<void> {
  await removeUploads(deps, [id, ...(await thumbnailIds(deps, id))]);
}

/** Removes the thumbnails made of upload `id`, keeping the upload (a message failed to share it). */
export async function discardThumbnails(deps: Deps, id: string): Promise<void> {
  await removeUploads(deps, await thumbnailIds(deps, id));
}

/** The ids of the uploads a message carries (its file and its thumbnail). */
export function uploadIdsOf(message: Pick<Message, "file" | "files">): string[] {
  const files = Array.isArray(message.files) ? message.files : [message.file];
  return files.map((file) => file?._id).filter((id): id is string => typeof id === "string");
}

/** Removes every upload of room `rid`. */
export async function removeRoomUploads(deps: Deps, rid: string): Promise<void> {
  const uploads = await deps.db.uploads.find({ rid }, { projection: { _id: 1 } });
  await removeUploads(
    deps,
    uploads.map((upload) => upload._id),
  );
}

/** Removes a few temporary uploads whose message never came before they expired. */
async function sweepExpired(deps: Deps): Promise<void> {
  const expired = await deps.db.uploads.find(
    { expiresAt: { $lt: deps.clock.now() } },
    { projection: { _id: 1 }, limit: SWEEP_BATCH },
  );
  await removeUploads(
    deps,
    expired.map((upload) => upload._id),
  );
}
