/**
 * Finding rooms and people: spotlight (the quick search of `@user`, `#room` or plain
 * text), the directory of channels, users and teams, whether a room name is taken, and
 * the autocompletion of the caller's own channels and groups. Each follows Rocket.Chat's
 * rules for what a caller may see: private rooms only to their members, e-mail addresses
 * only to holders of `view-full-other-user-info`.
 */
import type { Room, User } from "../core/models.ts";
import type { Collection, Filter, Sort } from "../store/types.ts";
import type { Services } from "./index.ts";
import { hiddenTeamIds } from "./teams.ts";

/** `text` with every character that means something in a regular expression escaped. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A case-insensitive match of `text` anywhere, or at the start with `anchored`. */
function contains(text: string, anchored = false) {
  return { $regex: `${anchored ? "^" : ""}${escapeRegex(text.trim())}`, $options: "i" };
}

/** Copies the fields of `doc` named in `keys` that it has. */
export function pick(doc: Record<string, unknown>, keys: readonly string[]) {
  const view: Record<string, unknown> = {};
  for (const key of keys) if (doc[key] !== undefined) view[key] = doc[key];
  return view;
}

/** The fields a user search matches, from `Accounts_SearchFields` (trimmed, none empty). */
export function searchFields(services: Services): string[] {
  const raw = services.settings.get<string>("Accounts_SearchFields") ?? "username, name";
  return raw
    .split(",")
    .map((field) => field.trim())
    .filter(Boolean);
}

/** Active users with a username whose search fields contain `text` (all when empty). */
export function activeUsersMatching(
  text: string,
  fields: readonly string[],
  extra: readonly Filter[] = [],
): Filter {
  const term = text.trim();
  return {
    $and: [
      { active: true, username: { $exists: true } },
      ...(term && fields.length > 0
        ? [{ $or: fields.map((field) => ({ [field]: contains(term) })) }]
        : []),
      ...extra,
    ],
  };
}

/** Ids of the rooms of the given types that user `uid` is a member of. */
export async function memberRoomIds(
  services: Services,
  uid: string,
  types: readonly string[],
): Promise<string[]> {
  const subs = await services.deps.db.subscriptions.find(
    { "u._id": uid, t: { $in: [...types] } },
    { projection: { rid: 1 } },
  );
  return subs.map((s) => s.rid);
}

/**
 * Whether a room is called `name`. The comparison ignores case, as room names are unique
 * regardless of case: a name that differs only in case is taken too.
 */
export async function roomNameExists(services: Services, name: string): Promise<boolean> {
  const room = await services.deps.db.rooms.findOne(
    { name: { $regex: `^${escapeRegex(name)}$`, $options: "i" } },
    { projection: { _id: 1 } },
  );
  return room !== null;
}

/**
 * Up to 10 channels and groups `user` is a member of whose name starts with `name`
 * (ignoring case), by name, discussions left out: `rooms.autocomplete.channelAndPrivate`.
 */
export async function autocompleteOwnRooms(
  services: Services,
  user: User,
  name: string,
): Promise<Record<string, unknown>[]> {
  const ids = await memberRoomIds(services, user._id, ["c", "p"]);
  const rooms = await services.deps.db.rooms.find(
    {
      _id: { $in: ids },
      t: { $in: ["c", "p"] },
      prid: { $exists: false },
      ...(name.trim() && { name: contains(name, true) }),
    },
    { sort: { name: 1 }, limit: 10 },
  );
  return rooms.map((room) => pick(room, ["_id", "fname", "name", "t", "avatarETag"]));
}

/** The fields of a room in a spotlight answer. */
const SPOTLIGHT_ROOM_FIELDS = [
  "_id",
  "t",
  "name",
  "fname",
  "teamMain",
  "joinCodeRequired",
  "lastMessage",
  "federated",
  "prid",
];

/**
 * Public channels whose name or display name contains `text`, that `user` has not
 * joined, at most 5, by name: Rocket.Chat's spotlight of rooms. Private groups and
 * direct messages are never searched, so a spotlight reveals no room its caller could
 * not open. Empty unless `user` holds `view-outside-room` and `view-c-room`.
 */
export async function spotlightRooms(
  services: Services,
  user: User,
  text: string,
): Promise<Record<string, unknown>[]> {
  const { authz } = services;
  if (!(await authz.can(user, "view-outside-room")) || !(await authz.can(user, "view-c-room"))) {
    return [];
  }
  const joined = await memberRoomIds(services, user._id, ["c"]);
  const term = contains(text);
  const rooms: Room[] = await services.deps.db.rooms.find(
    {
      _id: { $nin: joined },
      t: "c",
      federated: { $ne: true },
      $and: [
        { $or: [{ teamId: { $exists: false } }, { teamMain: true }] },
        { $or: [{ name: term }, { fname: term }] },
      ],
    },
    { sort: { name: 1 }, limit: 5 },
  );
  const withLastMessage =
    services.settings.get<boolean>("Store_Last_Message") === false ||
    (await authz.can(user, "preview-c-room"));
  const fields = withLastMessage
    ? SPOTLIGHT_ROOM_FIELDS
    : SPOTLIGHT_ROOM_FIELDS.filter((f) => f !== "lastMessage");
  return rooms.map((room) => pick(room, fields));
}

/** What `browseChannels` answers: one page and the number of matches. */
export interface DirectoryPage {
  readonly results: Record<string, unknown>[];
  readonly total: number;
}

/** A directory request, as Rocket.Chat's browseChannels takes it. */
export interface DirectoryQuery {
  readonly text: string;
  readonly type: string;
  readonly workspace: string;
  readonly sortBy: string;
  readonly sortDirection: "asc" | "desc";
  readonly offset: number;
  readonly limit: number;
}

/** The fields of a room in the directory. */
const DIRECTORY_ROOM_FIELDS = [
  "_id",
  "t",
  "description",
  "topic",
  "name",
  "fname",
  "lastMessage",
  "ts",
  "archived",
  "default",
  "featured",
  "usersCount",
  "prid",
  "teamId",
  "federated",
];

function roomSort(field: string, dir: 1 | -1): Sort {
  if (field === "createdAt") return { featured: -1, ts: dir };
  if (field === "lastMessage") return { featured: -1, "lastMessage.ts": dir };
  return { featured: -1, [field]: dir };
}

/**
 * The channels in the directory: public channels and the groups `user` is a member of,
 * without discussions and team main rooms, nor the channels of private teams the user
 * does not belong to. Undefined without `view-c-room`.
 */
async function directoryChannels(services: Services, user: User, q: DirectoryQuery, dir: 1 | -1) {
  if (!(await services.authz.can(user, "view-c-room"))) return undefined;
  const mine = await memberRoomIds(services, user._id, ["c", "p"]);
  const hidden = await hiddenTeamIds(services, user._id);
  const term = q.text.trim() && contains(q.text);
  const query: Filter = {
    $and: [
      { teamMain: { $exists: false } },
      { $or: [{ teamId: { $nin: hidden } }, { _id: { $in: mine } }] },
      { prid: { $exists: false } },
      { $or: [{ t: "c" }, { _id: { $in: mine }, t: { $in: ["c", "p"] } }] },
      ...(term ? [{ $or: [{ name: term }, { fname: term }] }] : []),
    ],
  };
  return page(services.deps.db.rooms, query, roomSort(q.sortBy, dir), q, DIRECTORY_ROOM_FIELDS);
}

/** The main rooms of the teams in the directory: public ones and the caller's own. */
async function directoryTeams(services: Services, user: User, q: DirectoryQuery, dir: 1 | -1) {
  const mine = await memberRoomIds(services, user._id, ["c", "p"]);
  const term = q.text.trim() && contains(q.text);
  const query: Filter = {
    teamMain: true,
    $and: [
      { $or: [{ t: "c" }, { t: "p", _id: { $in: mine } }] },
      ...(term ? [{ $or: [{ name: term }, { fname: term }] }] : []),
    ],
  };
  const fields = [...DIRECTORY_ROOM_FIELDS.filter((f) => f !== "federated"), "teamMain"];
  const found = await page(services.deps.db.rooms, query, roomSort(q.sortBy, dir), q, fields);
  const results = await Promise.all(
    found.results.map(async (room) => ({
      ...room,
      roomsCount: await services.deps.db.rooms.countDocuments({ teamId: room.teamId }),
    })),
  );
  return { results, total: found.total };
}

/**
 * The users in the directory: active local users whose search fields contain the text.
 * E-mail addresses are shown, and searched, only for holders of
 * `view-full-other-user-info`; Rocket.Chat searches them for everyone under
 * `workspace=all`, which lets anyone test whether an address belongs to a user.
 */
async function directoryUsers(services: Services, user: User, q: DirectoryQuery, dir: 1 | -1) {
  const { authz } = services;
  if (!(await authz.can(user, "view-outside-room")) || !(await authz.can(user, "view-d-room"))) {
    return undefined;
  }
  const full = await authz.can(user, "view-full-other-user-info");
  const fields = (
    q.workspace === "all" ? ["username", "name", "emails.address"] : searchFields(services)
  ).filter((field) => full || !field.startsWith("emails"));
  const federation: Filter = q.workspace === "external" ? { federation: { $exists: true } } : {};
  const query = activeUsersMatching(q.text, fields, [federation]);
  const sort: Sort =
    q.sortBy === "email"
      ? { "emails.address": dir, username: dir }
      : { [q.sortBy === "createdAt" ? "createdAt" : q.sortBy]: dir };
  const shown = ["_id", "username", "name", "nickname", "bio", "createdAt", "federation"];
  return page(services.deps.db.users, query, sort, q, [
    ...shown,
    ...(full ? ["emails"] : []),
    "avatarETag",
  ]);
}

async function page(
  collection: Collection<Room> | Collection<User>,
  query: Filter,
  sort: Sort,
  q: DirectoryQuery,
  fields: readonly string[],
): Promise<DirectoryPage> {
  const [docs, total] = await Promise.all([
    collection.find(query, { sort, skip: q.offset, limit: q.limit }),
    collection.countDocuments(query),
  ]);
  return { results: docs.map((doc) => pick(doc, fields)), total };
}

const SORTABLE: Readonly<Record<string, readonly string[]>> = {
  channels: ["name", "createdAt", "usersCount", "usernames", "lastMessage"],
  teams: ["name", "createdAt", "usersCount", "usernames", "lastMessage"],
  users: ["name", "createdAt", "usersCount", "username", "email", "bio"],
};

/**
 * One page of the directory, as Rocket.Chat's browseChannels answers it; undefined for
 * an unknown type, direction or sort field, or a caller without the permissions the
 * type needs (the route answers "Please verify the parameters").
 */
export async function browseDirectory(
  services: Services,
  user: User,
  q: DirectoryQuery,
): Promise<DirectoryPage | undefined> {
  const sortable = SORTABLE[q.type];
  if (!sortable || !sortable.includes(q.sortBy)) return undefined;
  const dir = q.sortDirection === "asc" ? 1 : -1;
  const request = { ...q, limit: q.limit > 0 ? q.limit : 10 };
  if (q.type === "channels") return directoryChannels(services, user, request, dir);
  if (q.type === "teams") return directoryTeams(services, user, request, dir);
  return directoryUsers(services, user, request, dir);
}
