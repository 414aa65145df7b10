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

/** `text` with the five characters HTML gives meaning to escaped, as error texts show names. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The whole-name matcher of `pattern`; Rocket.Chat's default when the setting is no regex. */
function namePattern(pattern: string): RegExp {
  try {
    return new RegExp(`^${pattern}$`);
  } catch {
    return /^[0-9a-zA-Z-_.]+$/;
  }
}

/**
 * `raw` trimmed, when it is a valid room name under `pattern` (a regular expression
 * source, matched whole). Throws Rocket.Chat's `error-invalid-room-name` for an empty,
 * malformed, over-long or reserved (`admin`, …) name; the answer quotes no more of the
 * name than a valid one could have, with HTML escaped as Rocket.Chat shows it.
 */
export function validRoomName(raw: string, pattern: string): string {
  const name = raw.trim();
  if (
    !name ||
    name.length > ROOM_NAME_MAX_LENGTH ||
    !namePattern(pattern).test(name) ||
    SYSTEM_BLOCKED_NAMES.includes(name.toLowerCase())
  ) {
    const shown = escapeHtml(
      name.length > ROOM_NAME_MAX_LENGTH ? `${name.slice(0, ROOM_NAME_MAX_LENGTH)}…` : name,
    );
    throw new ClientError("error-invalid-room-name", `${shown} is not a valid room name.`, {
      details: { function: "RocketChat.createRoom", channel_name: shown },
    });
  }
  return name;
}
