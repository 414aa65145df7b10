/**
 * What a channel or group may be called: the `UTF8_Channel_Names_Validation` pattern, a
 * length limit, and none of the names the system keeps for itself.
 */
import { ClientError } from "../core/errors.ts";
import { SYSTEM_BLOCKED_NAMES } from "./account-rules.ts";

/**
 * Longest room name. Rocket.Chat sets none, but a name is repeated in every member's
 * subscription, every notification and every room list; Slack and Discord stop at 80
 * and 100.
 */
export const ROOM_NAME_MAX_LENGTH = 100;

/**
 * `raw` trimmed, when it is a valid room name under `pattern` (a regular expression
 * source, matched whole). Throws Rocket.Chat's `error-invalid-room-name` for an empty,
 * malformed, over-long or reserved (`admin`, …) name; the answer quotes no more of the
 * name than a valid one could have.
 */
export function validRoomName(raw: string, pattern: string): string {
  const name = raw.trim();
  if (
    !name ||
    name.length > ROOM_NAME_MAX_LENGTH ||
    !new RegExp(`^${pattern}$`).test(name) ||
    SYSTEM_BLOCKED_NAMES.includes(name.toLowerCase())
  ) {
    const shown =
      name.length > ROOM_NAME_MAX_LENGTH ? `${name.slice(0, ROOM_NAME_MAX_LENGTH)}…` : name;
    throw new ClientError("error-invalid-room-name", `${shown} is not a valid room name.`, {
      details: { function: "RocketChat.createRoom", channel_name: shown },
    });
  }
  return name;
}
