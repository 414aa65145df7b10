/**
 * The checks Rocket.Chat runs on a message a client sends, before it is saved: its size,
 * the types of its fields, link targets in attachments that must not run script, the
 * permission to impersonate (`alias`, `avatar`) and custom fields. The room actor runs
 * them in its send command, so REST and DDP senders meet the same rules.
 *
 * Rocket.Chat raises most of these as bare `Error`s, which its REST layer reports as a
 * plain `error` string without `errorType`; they are `plain` ClientErrors here.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import type { Authz } from "./authz.ts";
import { assertClientValue, measureClientValue } from "./client-values.ts";
import type { Settings } from "./settings.ts";

/** Longest `_id` or `tmid` a client may give; Rocket.Chat's ids have 17 characters, UUIDs 36. */
export const MESSAGE_ID_MAX_LENGTH = 64;

/** Longest `alias`, the display name shown instead of the sender's. */
export const ALIAS_MAX_LENGTH = 256;

/** Longest `emoji`: a `:shortcode:` or a Unicode emoji sequence. */
export const EMOJI_MAX_LENGTH = 64;

/** Longest `avatar` URL; 2048 characters is what browsers and proxies reliably carry. */
export const AVATAR_MAX_LENGTH = 2048;

/**
 * Largest `attachments` of one message, in characters of JSON. The message is stored,
 * copied into the room's `lastMessage` and sent to every member and every session.
 */
export const ATTACHMENTS_MAX_CHARS = 65_536;

/** Largest `customFields` of a message or a room, in characters of JSON. */
export const CUSTOM_FIELDS_MAX_CHARS = 16_384;

/** Control characters, and UTF-16 surrogates without their pair (not encodable as UTF-8). */
const UNSAFE_IN_ID =
  /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What the checks need: permissions and settings. */
export interface ValidationDeps {
  readonly authz: Authz;
  readonly settings: Settings;
}

/** The client-settable parts of a message that these checks look at. */
export interface CheckedMessage {
  readonly _id?: string;
  readonly msg?: string;
  readonly alias?: string;
  readonly emoji?: string;
  readonly avatar?: string;
  readonly tmid?: string;
  readonly attachments?: readonly Record<string, unknown>[];
  readonly customFields?: Record<string, unknown>;
}

/** Where uploaded files are served; links there are safe although relative. */
const FILE_UPLOAD_PATH = "/file-upload/";

type Check = (value: unknown, field: string) => void;

function plain(code: string | number, reason: string): ClientError {
  return new ClientError(code, reason, { plain: true });
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "array" : typeof value;
}

function ofType(type: "string" | "boolean" | "number" | "object" | "array"): Check {
  return (value, field) => {
    const seen = typeName(value);
    if (seen !== type)
      throw plain(400, `Match error: Expected ${type}, got ${seen} in field ${field}`);
  };
}

const str = ofType("string");
const bool = ofType("boolean");
const num = ofType("number");
const obj = ofType("object");
const arr = ofType("array");

function oneOf(...types: ("string" | "number" | "boolean")[]): Check {
  return (value, field) => {
    if (!types.includes(typeof value as "string")) {
      throw plain(
        400,
        `Match error: Failed Match.OneOf, Match.Maybe or Match.Optional validation in field ${field}`,
      );
    }
  };
}

/** An absolute http(s) or data URL, or a link to an upload; never `javascript:`. */
const fullUrl: Check = (value, field) => {
  str(value, field);
  const url = value as string;
  const absolute = /^(https?:\/\/|data:)/.test(url) || url.startsWith(FILE_UPLOAD_PATH);
  if (!absolute || /^javascript:/i.test(url))
    throw plain("invalid-href", "Invalid href value provided");
};

/** Like fullUrl, but a relative path (no scheme) is also accepted, as for avatars. */
const partialUrl: Check = (value, field) => {
  str(value, field);
  const url = value as string;
  const relative = /^(?![a-z0-9+.-]+:|\/\/).+/i.test(url);
  if (!relative) fullUrl(value, field);
};

/** Runs each field's check when the field is present (null counts as absent, as in Meteor). */
function fields(value: Record<string, unknown>, checks: Record<string, Check>): void {
  for (const [field, check] of Object.entries(checks)) {
    if (value[field] !== undefined && value[field] !== null) check(value[field], field);
  }
}

const ATTACHMENT: Record<string, Check> = {
  color: str,
  text: str,
  ts: oneOf("string", "number"),
  thumb_url: fullUrl,
  button_alignment: str,
  actions: arr,
  message_link: fullUrl,
  collapsed: bool,
  author_name: str,
  author_link: fullUrl,
  author_icon: fullUrl,
  title: str,
  title_link: fullUrl,
  title_link_download: bool,
  image_dimensions: obj,
  image_url: fullUrl,
  image_preview: str,
  image_type: str,
  image_size: num,
  audio_url: fullUrl,
  audio_type: str,
  audio_size: num,
  video_url: fullUrl,
  video_type: str,
  video_size: num,
  fields: arr,
};

const ACTION: Record<string, Check> = {
  type: str,
  text: str,
  url: fullUrl,
  image_url: fullUrl,
  is_webview: bool,
  webview_height_ratio: str,
  msg: str,
  msg_in_chat_window: bool,
};

const FIELD: Record<string, Check> = {
  short: bool,
  title: str,
  value: oneOf("string", "number", "boolean"),
};

function validateAttachment(attachment: Record<string, unknown>): void {
  fields(attachment, ATTACHMENT);
  for (const field of (attachment.fields as Record<string, unknown>[] | undefined) ?? []) {
    obj(field, "fields");
    fields(field, FIELD);
    if (!field.value || !field.title) {
      throw plain(400, "Invalid attachment field, title and value is required");
    }
  }
  for (const action of (attachment.actions as Record<string, unknown>[] | undefined) ?? []) {
    obj(action, "actions");
    fields(action, ACTION);
  }
}

/**
 * Throws `error-message-size-exceeded` when `text` is longer than the setting
 * `Message_MaxAllowedSize` (default 5000); `method` names the caller in the details.
 */
export function assertMessageSize(
  settings: Settings,
  text: string | undefined,
  method: string,
): void {
  const max = settings.get<number>("Message_MaxAllowedSize") ?? 5000;
  if (text && text.length > max) {
    throw new ClientError(
      "error-message-size-exceeded",
      "Message size exceeds Message_MaxAllowedSize",
      {
        details: { method },
      },
    );
  }
}

/**
 * Throws "Custom fields not enabled" when custom fields are given while the setting
 * `Message_CustomFields_Enabled` is off (its default).
 *
 * Limitation: when the setting is on, custom fields are accepted without checking them
 * against the JSON schema in `Message_CustomFields`, so malformed fields are stored.
 */
export function assertCustomFields(settings: Settings, customFields: unknown): void {
  if (customFields === undefined || customFields === null) return;
  if (settings.get<boolean>("Message_CustomFields_Enabled") !== true) {
    throw plain("error-custom-fields-disabled", "Custom fields not enabled");
  }
}

function invalidField(field: string, reason: string, method: string): ClientError {
  return new ClientError("error-invalid-params", reason, { details: { method, field } });
}

function assertMaxLength(value: unknown, field: string, max: number, method: string): void {
  if (typeof value === "string" && value.length > max) {
    throw invalidField(field, `${field} is longer than ${max} characters`, method);
  }
}

/** Throws unless `id` is 1 to MESSAGE_ID_MAX_LENGTH characters of well-formed, printable text. */
function assertMessageId(id: unknown, field: string, method: string): void {
  if (typeof id !== "string") return;
  if (id.length === 0 || id.length > MESSAGE_ID_MAX_LENGTH || UNSAFE_IN_ID.test(id)) {
    const reason = `${field} must be 1 to ${MESSAGE_ID_MAX_LENGTH} characters without control characters`;
    throw invalidField(field, reason, method);
  }
}

/**
 * The checks of a message's shape that need neither the room nor the sender: ids and
 * short fields within their limits, and attachments and custom fields the store can hold
 * (see client-values.ts) within ATTACHMENTS_MAX_CHARS and CUSTOM_FIELDS_MAX_CHARS. Routes
 * run it before anything is looked up or joined; the room actor runs it again for every
 * transport. Throws `error-invalid-params`, or `error-message-size-exceeded` for
 * attachments that are too large; `method` names the caller in the details.
 */
export function assertMessageShape(message: CheckedMessage, method: string): void {
  assertMessageId(message._id, "_id", method);
  // An empty `tmid` means no thread, as in Rocket.Chat; any other must look like an id.
  if (message.tmid !== "") assertMessageId(message.tmid, "tmid", method);
  assertMaxLength(message.alias, "alias", ALIAS_MAX_LENGTH, method);
  assertMaxLength(message.emoji, "emoji", EMOJI_MAX_LENGTH, method);
  assertMaxLength(message.avatar, "avatar", AVATAR_MAX_LENGTH, method);
  if (message.attachments !== undefined) {
    const size = measureClientValue(message.attachments, "attachments", ATTACHMENTS_MAX_CHARS);
    if (size > ATTACHMENTS_MAX_CHARS) {
      throw new ClientError(
        "error-message-size-exceeded",
        `Message attachments exceed ${ATTACHMENTS_MAX_CHARS} characters`,
        { details: { method, field: "attachments" } },
      );
    }
  }
  if (message.customFields !== undefined && message.customFields !== null) {
    assertClientValue(message.customFields, "customFields", CUSTOM_FIELDS_MAX_CHARS);
  }
}

/**
 * Validates `message` sent by `user` into room `rid`: its shape (assertMessageShape),
 * then a plain ClientError with Rocket.Chat's text for a bad link or field type, "Not
 * enough permission" for `alias` or `avatar` without `message-impersonate`, or "Custom
 * fields not enabled".
 */
export async function validateMessage(
  deps: ValidationDeps,
  message: CheckedMessage,
  user: User,
  rid: string,
) {
  assertMessageShape(message, "sendMessage");
  if (message.avatar !== undefined) partialUrl(message.avatar, "avatar");
  if (message.alias || message.avatar) {
    if (!(await deps.authz.can(user, "message-impersonate", rid))) {
      throw plain("error-not-allowed", "Not enough permission");
    }
  }
  for (const attachment of message.attachments ?? []) {
    obj(attachment, "attachments");
    validateAttachment(attachment);
  }
  assertCustomFields(deps.settings, message.customFields);
}
