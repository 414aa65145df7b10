/**
 * What the room-management routes of `channels.*` and `groups.*` share: which rooms each
 * prefix finds and how, the key its answers carry the room under, saving settings
 * through the room's actor, and Rocket.Chat's two failure shapes of those handlers.
 */
import { t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import type { RoomRef } from "../services/rooms.ts";
import { roomView } from "../services/rooms.ts";
import { parseRoomSettings } from "../services/room-settings-rules.ts";
import { ok } from "./http.ts";

/** One flavour of the room routes: public channels or private groups. */
export interface RoomKind {
  readonly prefix: "channels" | "groups";
  /** The key answers carry the room under. */
  readonly key: "channel" | "group";
  /** How error texts name such a room. */
  readonly noun: "channel" | "private group";
  readonly tags: string[];
  /**
   * The room `ref` names that `user` may manage, with Rocket.Chat's errors: a private
   * group the user cannot read answers as one that does not exist. With `checkArchived`,
   * an archived room answers `error-room-archived`.
   */
  find(services: Services, ref: RoomRef, user: User, checkArchived: boolean): Promise<Room>;
}

export const CHANNELS: RoomKind = {
  prefix: "channels",
  key: "channel",
  noun: "channel",
  tags: ["Channels"],
  find: (services, ref, _user, checkArchived) => services.rooms.findChannel(ref, checkArchived),
};

export const GROUPS: RoomKind = {
  prefix: "groups",
  key: "group",
  noun: "private group",
  tags: ["Groups"],
  find: (services, ref, user, checkArchived) => services.rooms.findGroup(ref, user, checkArchived),
};

/**
 * The path of route `name` under `kind`'s prefix (`/channels.archive`). Typed as a plain
 * string: Elysia's route types multiply with a union of literal paths past what the
 * compiler can represent.
 */
export function pathOf(kind: RoomKind, name: string): string {
  return `/${kind.prefix}.${name}`;
}

/** `roomId` or `roomName`, as every route of both prefixes takes the room. */
export const ROOM_REF = { roomId: t.Optional(t.String()), roomName: t.Optional(t.String()) };

/** The parameters that name a user, as Rocket.Chat's getUserFromParams reads them. */
export const USER_REF = {
  userId: t.Optional(t.String()),
  username: t.Optional(t.String()),
  user: t.Optional(t.String()),
};

/** The room `rid` as the answers of `kind` carry it, read after the change. */
export async function roomAnswer(services: Services, kind: RoomKind, rid: string) {
  const room = await services.rooms.byId(rid);
  if (!room) {
    throw new ClientError(
      "error-room-not-found",
      `The required "roomId" or "roomName" param provided does not match any ${kind.key}`,
    );
  }
  return ok({ [kind.key]: roomView(room) });
}

/**
 * Saves the settings `raw` (Rocket.Chat's saveRoomSettings names) in `room` as `user`,
 * through the room's actor; resolves to the room afterwards.
 */
export async function saveSettings(
  services: Services,
  room: Room,
  user: User,
  raw: Record<string, unknown>,
): Promise<Room> {
  const patch = parseRoomSettings(raw, services.settings);
  return services.deps.rooms.execute(room._id, { kind: "settings.save", user, patch });
}

/** Rocket.Chat's `API.v1.failure(text)`: a 400 whose `error` is the text alone. */
export function failure(text: string): ClientError {
  return new ClientError("failure", text, { plain: true });
}

/**
 * Rocket.Chat's `API.v1.failure(text, errorType)`: a 400 whose `error` is the text alone
 * and whose `errorType` is given apart, without the ` [errorType]` suffix a thrown error
 * carries.
 */
export class TypedFailure extends ClientError {
  constructor(text: string, errorType: string) {
    super(errorType, text);
    this.message = text;
  }
}
