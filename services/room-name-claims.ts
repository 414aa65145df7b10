/**
 * Claiming a channel or group name, for a new room or a rename. The name must pass
 * `UTF8_Channel_Names_Validation`; with `UI_Allow_room_names_with_special_chars` a display
 * name of any characters is kept as `fname` and turned into a `name` of safe characters.
 * No two rooms may hold names that differ only in case, so `Team` and `team` cannot both
 * exist. Checking and writing a name happen under one lock held in the store, so two
 * claims, in one process or in several, cannot both see a name free and both take it.
 */
import { ClientError } from "../core/errors.ts";
import type { Room } from "../core/models.ts";
import type { Deps } from "./context.ts";
import { escapeHtml, ROOM_NAME_MAX_LENGTH, validRoomName } from "./room-names.ts";
import type { Settings } from "./settings.ts";
import { withStoreLock } from "./store-locks.ts";

/** The names of a channel or group: `name` in links and mentions, `fname` as shown. */
export interface RoomNames {
  readonly name: string;
  readonly fname: string;
}

/** How many `-1`, `-2`, … suffixes a slugged name tries before giving up as a duplicate. */
const MAX_SUFFIX = 100;

/**
 * A display name made into a name of letters, digits, `_` and `.` joined by `-`: accents
 * are dropped and every other run of characters becomes one `-`.
 *
 * Limitation: Rocket.Chat transliterates other scripts (Cyrillic, CJK, …) into Latin
 * letters; here their characters are dropped, so a display name written only in them has
 * no valid name and is refused.
 */
export function slugOf(displayName: string): string {
  return displayName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9_.]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Another room (not `rid`) whose `field` equals `value` ignoring case, or null. */
function holderOf(deps: Pick<Deps, "db">, field: "name" | "fname", value: string, rid?: string) {
  return deps.db.rooms.findOne(
    {
      [field]: { $regex: `^${escapeRegex(value)}$`, $options: "i" },
      ...(rid !== undefined && { _id: { $ne: rid } }),
      // Discussions show their title as fname; two discussions may share one.
      ...(field === "fname" && { prid: { $exists: false } }),
    },
    { projection: { _id: 1, archived: 1 } },
  );
}

/**
 * Throws Rocket.Chat's `error-duplicate-handle` when a user's name is `name` in any case:
 * a renamed room may not take the handle by which someone is mentioned.
 */
export async function assertNoUserNamed(deps: Pick<Deps, "db">, name: string): Promise<void> {
  const pattern = `^${escapeRegex(name)}$`;
  if (await deps.db.users.findOne({ username: { $regex: pattern, $options: "i" } })) {
    throw new ClientError(
      "error-duplicate-handle",
      `A room, team or user with name '${name}' already exists`,
      { details: { function: "RocketChat.updateRoomName", handle: name } },
    );
  }
}

function duplicate(room: Pick<Room, "archived">, name: string): ClientError {
  const shown = escapeHtml(name);
  const details = { function: "RocketChat.getValidRoomName", channel_name: shown };
  return room.archived
    ? new ClientError(
        "error-archived-duplicate-name",
        `There's an archived channel with name ${shown}`,
        {
          details,
        },
      )
    : new ClientError("error-duplicate-channel-name", `A channel with name '${shown}' exists`, {
        details,
      });
}

/** The display name of a special-characters name, trimmed and of the length a name may have. */
function displayNameOf(raw: string, pattern: string): string {
  const fname = raw.trim();
  // An empty or over-long display name is refused with the wording of an invalid name.
  if (!fname || fname.length > ROOM_NAME_MAX_LENGTH) validRoomName(fname, pattern);
  return fname;
}

/** Resolves the names `displayName` gives room `rid` (a new room when undefined). */
async function resolve(
  deps: Pick<Deps, "db">,
  settings: Settings,
  displayName: string,
  rid: string | undefined,
): Promise<RoomNames> {
  const pattern = settings.get<string>("UTF8_Channel_Names_Validation") ?? "[0-9a-zA-Z-_.]+";
  if (settings.get<boolean>("UI_Allow_room_names_with_special_chars") !== true) {
    const name = validRoomName(displayName, pattern);
    const holder = await holderOf(deps, "name", name, rid);
    if (holder) throw duplicate(holder, name);
    return { name, fname: name };
  }
  const fname = displayNameOf(displayName, pattern);
  const sameTitle = await holderOf(deps, "fname", fname, rid);
  if (sameTitle) throw duplicate(sameTitle, slugOf(fname));
  const base = validRoomName(slugOf(fname), pattern);
  for (let n = 0; n <= MAX_SUFFIX; n++) {
    const name = n === 0 ? base : `${base}-${n}`;
    if (!(await holderOf(deps, "name", name, rid))) return { name, fname };
  }
  throw duplicate({}, base);
}

/**
 * Resolves the names `displayName` gives room `rid` (undefined for a new room), then runs
 * `write` with them while no other claim runs in any process, so that the names are still
 * free when written. Resolves to what `write` resolves to. Throws Rocket.Chat's
 * `error-invalid-room-name` for a name the settings refuse, and `error-duplicate-channel-name`
 * (`error-archived-duplicate-name` when the holder is archived) for a name another room
 * holds in any case. `write` must not claim a name itself: it would wait for itself.
 */
export function claimRoomName<T>(
  deps: Pick<Deps, "db" | "ids">,
  settings: Settings,
  displayName: string,
  rid: string | undefined,
  write: (names: RoomNames) => Promise<T>,
): Promise<T> {
  return withStoreLock(deps, "room-names", async () =>
    write(await resolve(deps, settings, displayName, rid)),
  );
}
