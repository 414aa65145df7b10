/**
 * Spotlight, Rocket.Chat's quick search: `@name` looks for users only, `#name` for rooms
 * only, plain text for both. Users are searched in this order until the limit
 * (`Number_of_users_autocomplete_suggestions`, 5 by default) is reached: the exact
 * username in the given room, the exact username anywhere, members of the given room,
 * the caller's direct-message partners, then everyone (with `view-outside-room` and
 * `view-d-room`) or the caller's direct-message partners again (without). Users from
 * outside the room are marked `outside`.
 */
import type { User } from "../core/models.ts";
import type { Filter } from "../store/types.ts";
import {
  activeUsersMatching,
  escapeRegex,
  pick,
  searchFields,
  spotlightRooms,
} from "./discovery.ts";
import type { Services } from "./index.ts";

/** Which kinds of results a spotlight call wants. */
export interface SpotlightType {
  readonly users?: boolean;
  readonly rooms?: boolean;
}

/** The fields of a user in a spotlight answer. */
const USER_FIELDS = ["_id", "username", "nickname", "name", "status", "statusText", "avatarETag"];

/** A search in progress: what was found so far and what may still be added. */
interface Search {
  readonly found: Record<string, unknown>[];
  /** Usernames not to return again. */
  readonly except: Set<string>;
  limit: number;
}

/** Adds `users` to the search; true once the limit is reached. */
function take(search: Search, users: readonly User[], outside: boolean): boolean {
  for (const user of users) {
    if (search.found.length >= search.limit) break;
    if (search.except.has(user.username)) continue;
    search.except.add(user.username);
    search.found.push({ ...pick(user, USER_FIELDS), ...(outside && { outside: true }) });
  }
  return search.found.length >= search.limit;
}

/** Ids of the users `uid` shares a direct message with. */
async function directPartners(services: Services, uid: string): Promise<string[]> {
  const rooms = await services.deps.db.rooms.find(
    { t: "d", uids: uid },
    { projection: { uids: 1 } },
  );
  return [...new Set(rooms.flatMap((room) => room.uids ?? []))].filter((id) => id !== uid);
}

async function findUsers(services: Services, search: Search, text: string, extra: Filter[]) {
  const sortField = services.settings.get<boolean>("UI_Use_Real_Name") ? "name" : "username";
  const query = activeUsersMatching(text, searchFields(services), [
    { username: { $exists: true, $nin: [...search.except] } },
    ...extra,
  ]);
  return services.deps.db.users.find(query, {
    sort: { [sortField]: 1 },
    limit: search.limit - search.found.length,
  });
}

async function exactUser(services: Services, text: string, extra: Filter = {}) {
  if (!text) return [];
  const username = { $regex: `^${escapeRegex(text)}$`, $options: "i" };
  const user = await services.deps.db.users.findOne({ username, ...extra });
  return user ? [user] : [];
}

/** The users a spotlight of `text` finds for `user`, optionally within room `rid`. */
export async function spotlightUsers(
  services: Services,
  user: User,
  text: string,
  usernames: readonly string[],
  rid?: string,
): Promise<Record<string, unknown>[]> {
  const limit = services.settings.get<number>("Number_of_users_autocomplete_suggestions") ?? 5;
  const search: Search = { found: [], except: new Set(usernames), limit };
  const room = rid ? await services.rooms.byId(rid) : null;
  if (rid && !room) return [];
  const { authz } = services;
  const outsiders =
    (await authz.can(user, "view-outside-room")) && (await authz.can(user, "view-d-room"));
  const insiders = outsiders || (room !== null && (await authz.canAccessRoom(room, user)));
  const partners = async () => ({
    _id: { $in: await directPartners(services, user._id) },
  });

  if (room && insiders) {
    const members =
      room.t === "d"
        ? (room.uids ?? []).filter((id) => id !== user._id)
        : (await services.deps.db.subscriptions.find({ rid: room._id })).map((s) => s.u._id);
    const inRoom = { _id: { $in: members } };
    if (take(search, await exactUser(services, text, inRoom), false)) return search.found;
    if (search.found.length === 0 && outsiders) {
      if (take(search, await exactUser(services, text), true)) return search.found;
    }
    if (take(search, await findUsers(services, search, text, [inRoom]), false)) {
      return search.found;
    }
    const connected = await findUsers(services, search, text, [await partners()]);
    if (take(search, connected, true)) return search.found;
  } else if (outsiders) {
    if (take(search, await exactUser(services, text), true)) return search.found;
  }
  const rest = outsiders ? [] : [await partners()];
  take(search, await findUsers(services, search, text, rest), true);
  return search.found;
}

/**
 * A spotlight of `query` for `user`: `{users, rooms}`. A leading `#` searches rooms only,
 * a leading `@` users only; `type` turns either off. `usernames` are left out of the
 * users, and `rid` makes the search favour that room's members.
 */
export async function spotlight(
  services: Services,
  user: User,
  query: string,
  options: { usernames?: readonly string[]; type?: SpotlightType; rid?: string } = {},
) {
  let text = query;
  let users = options.type?.users ?? true;
  let rooms = options.type?.rooms ?? true;
  if (text.startsWith("#")) {
    users = false;
    text = text.slice(1);
  }
  if (text.startsWith("@")) {
    rooms = false;
    text = text.slice(1);
  }
  return {
    users: users
      ? await spotlightUsers(services, user, text, options.usernames ?? [], options.rid)
      : [],
    rooms: rooms ? await spotlightRooms(services, user, text) : [],
  };
}
