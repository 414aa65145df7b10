/**
 * User avatars: an uploaded image kept in file storage (bucket `avatars`, one blob per
 * user id, so a rename keeps it), or else Rocket.Chat's generated SVG of the name's
 * initial on a colour picked from the name. Every change gets a new `avatarETag` and is
 * announced as `updateAvatar` on `stream-notify-logged`.
 */
import { base64ToBytes } from "../core/base64.ts";
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import type { StoredFile } from "../store/files.ts";
import type { Services } from "./index.ts";

/** The file storage bucket of avatars. */
export const AVATAR_BUCKET = "avatars";

/** An image as a client sends it: its bytes and content type. */
export interface AvatarImage {
  readonly data: Uint8Array;
  readonly contentType: string;
}

/**
 * Reads a `data:` URL (base64 or percent-encoded) into an image. Throws Rocket.Chat's
 * `error-avatar-invalid-url` when it is not a well-formed `data:image/...` URL.
 */
export function imageFromDataUrl(url: string): AvatarImage {
  const match = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  const contentType = match?.[1]?.trim().toLowerCase() ?? "";
  if (!match || !contentType.startsWith("image/")) throw invalidAvatarUrl(url);
  const body = match[3] ?? "";
  const base64 = (match[2] ?? "").split(";").includes("base64");
  try {
    const data = base64
      ? base64ToBytes(body.replace(/\s/g, ""))
      : new TextEncoder().encode(decodeURIComponent(body));
    return { data, contentType };
  } catch (error) {
    throw Object.assign(invalidAvatarUrl(url), { cause: error });
  }
}

/** Rocket.Chat's refusal of an avatar URL it cannot use. */
export function invalidAvatarUrl(url: string): ClientError {
  const shown = url.startsWith("data:") ? `${url.slice(0, 32)}...` : encodeURI(url);
  return new ClientError("error-avatar-invalid-url", `Invalid avatar URL: ${shown}`, {
    details: { function: "setUserAvatar", url: shown },
  });
}

/**
 * Stores `image` as `user`'s avatar and announces it. Throws
 * `error-avatar-invalid-content-type` for anything but an image: the avatar route serves
 * the stored type back, and no other type belongs there.
 */
export async function setAvatar(services: Services, user: User, image: AvatarImage) {
  if (!/^image\/[\w.+-]+$/.test(image.contentType)) {
    throw new ClientError("error-avatar-invalid-content-type", "Invalid avatar content type", {
      details: { function: "setUserAvatar" },
    });
  }
  const { files, db, clock, ids, hub } = services.deps;
  await files.bucket(AVATAR_BUCKET).put(user._id, image.data, image.contentType, clock.now());
  const avatarETag = ids.id();
  await db.users.updateOne(
    { _id: user._id },
    { $set: { avatarOrigin: "rest", avatarETag, _updatedAt: clock.now() } },
  );
  hub.emit("stream-notify-logged", "updateAvatar", [{ username: user.username, avatarETag }]);
}

/** Removes `user`'s uploaded avatar, so that the generated one shows again. */
export async function resetAvatar(services: Services, user: User): Promise<void> {
  const { files, db, clock, hub } = services.deps;
  await files.bucket(AVATAR_BUCKET).delete(user._id);
  await db.users.updateOne(
    { _id: user._id },
    { $unset: { avatarOrigin: 1, avatarETag: 1 }, $set: { _updatedAt: clock.now() } },
  );
  hub.emit("stream-notify-logged", "updateAvatar", [{ username: user.username }]);
}

/** The uploaded avatar of user `uid`, or null. */
export function uploadedAvatar(services: Services, uid: string): Promise<StoredFile | null> {
  return services.deps.files.bucket(AVATAR_BUCKET).get(uid);
}

const COLORS = ["#158D65", "#7F1B9F", "#B68D00", "#E26D0E", "#10529E", "#6C727A"];

/** The smallest and largest `size` of a generated avatar. */
const MIN_SIZE = 16;
const MAX_SIZE = 1024;

const firstLetter = (word: string) =>
  word
    .replace(/[^A-Za-z0-9]/g, "")
    .slice(0, 1)
    .toUpperCase();

/**
 * Rocket.Chat's generated avatar: the first letter of `name` (with `allInitials`, of each
 * of its first three words) in white on a colour chosen by the name's length, in a square
 * of `size` pixels (200 unless given; clamped to 16..1024).
 */
export function initialsSvg(name: string, size?: number, allInitials = false): string {
  const view = size ? Math.min(Math.max(size, MIN_SIZE), MAX_SIZE) : 200;
  const unknown = name === "?";
  const color = unknown ? "#000" : (COLORS[name.length % COLORS.length] as string);
  const initials = unknown
    ? "?"
    : allInitials
      ? name.split(" ").slice(0, 3).map(firstLetter).join("")
      : firstLetter(name);
  const reduction = initials.length > 1 ? initials.length ** 2 / 10 : 0;
  const fontSize = view / (1.6 + reduction);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${view} ${view}">`,
    `<rect width="100%" height="100%" fill="${color}"/>`,
    `<text x="50%" y="50%" dy="0.36em" text-anchor="middle" pointer-events="none" fill="#ffffff" font-family="'Helvetica', 'Arial', 'Lucida Grande', 'sans-serif'" font-size="${fontSize}">`,
    initials,
    "</text>",
    "</svg>",
  ].join("\n");
}
