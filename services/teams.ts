/**
 * Teams: a team groups people and rooms. It has a main room (`teamMain`, carrying
 * `teamId`) whose members are the team's members, and team rooms (carrying `teamId`,
 * some auto-join with `teamDefault`). Every change to a room goes through that room's
 * actor (team-commands.ts); this module orders those commands across rooms, as
 * Rocket.Chat's team service does, and answers the team listings. Refusals are
 * Rocket.Chat's plain codes (`team-does-not-exist`, `invalid-room`, …).
 */
import { ClientError } from "../core/errors.ts";
import type { Room, Team, TeamMember, TeamType, User } from "../core/models.ts";
import { DuplicateKeyError, type Filter } from "../store/types.ts";
import { escapeRegex, pick } from "./discovery.ts";
import type { Services } from "./index.ts";
import { eraseDiscussions } from "./room-lifecycle.ts";
import type { PageRequest } from "./rooms.ts";
import { roomView } from "./rooms.ts";
import { teamFailure } from "./team-commands.ts";
import { dissolveTeam } from "./team-members.ts";

/** A team named by id or by name, as the team routes name it. */
export interface TeamRef {
  readonly teamId?: string;
  readonly teamName?: string;
}

/** What teams.create takes. */
export interface NewTeam {
  readonly name: string;
  readonly type: TeamType;
  /** User ids or usernames to add besides the creator. */
  readonly members?: readonly string[];
  /** An existing room to make the main room, instead of creating one. */
  readonly roomId?: string;
  /** The id of the user who owns the team (default: the caller). */
  readonly owner?: string;
}

/** A team in a listing: its record, its rooms and its members counted. */
export type TeamInfo = Team & { rooms: number; numberOfUsers: number };

/** The team `ref` names, or null (a ref naming neither is null too). */
export function findTeam(services: Services, ref: TeamRef): Promise<Team | null> {
  const { teams } = services.deps.db;
  if (ref.teamId) return teams.findOne({ _id: ref.teamId });
  if (ref.teamName) return teams.findOne({ name: ref.teamName });
  return Promise.resolve(null);
}

/** The team `ref` names; throws `team-does-not-exist`. */
export async function requireTeam(services: Services, ref: TeamRef): Promise<Team> {
  const team = await findTeam(services, ref);
  if (!team) throw teamFailure("team-does-not-exist");
  return team;
}

/** Ids of the private teams user `uid` does not belong to: their rooms are hidden from them. */
export async function hiddenTeamIds(services: Services, uid: string): Promise<string[]> {
  const { db } = services.deps;
  const mine = await db.teamMembers.find({ userId: uid }, { projection: { teamId: 1 } });
  const own = new Set(mine.map((m) => m.teamId));
  const secret = await db.teams.find({ type: 1 }, { projection: { _id: 1 } });
  return secret.map((t) => t._id).filter((id) => !own.has(id));
}

/**
 * The filter that keeps the rooms `uid` may see in a listing of public channels: none of
 * a private team they do not belong to, unless they are subscribed to it.
 */
export async function visibleRoomsFilter(services: Services, uid: string): Promise<Filter> {
  const hidden = await hiddenTeamIds(services, uid);
  if (hidden.length === 0) return {};
  const subs = await services.deps.db.subscriptions.find(
    { "u._id": uid },
    { projection: { rid: 1 } },
  );
  return { $or: [{ teamId: { $nin: hidden } }, { _id: { $in: subs.map((s) => s.rid) } }] };
}

function userRef(user: User) {
  return { _id: user._id, username: user.username };
}

/** Active users by id or username, as Rocket.Chat's findActiveByIdsOrUsernames; unknown ones dropped. */
async function activeUsers(services: Services, keys: readonly string[]): Promise<User[]> {
  if (keys.length === 0) return [];
  const wanted = [...new Set(keys.filter(Boolean))];
  return services.deps.db.users.find({
    active: true,
    $or: [{ _id: { $in: wanted } }, { username: { $in: wanted } }],
  });
}

/**
 * Creates a team as `me`: a new main room (public for type 0, private for 1) with the
 * members, or an existing room (`roomId`) made the main room. The name must be free among
 * teams (`team-name-already-exists`) and rooms (`room-name-already-exists`); a room that
 * cannot be created answers `error-team-creation`, leaving nothing behind.
 */
export async function createTeam(services: Services, me: User, input: NewTeam): Promise<Team> {
  const { db, ids, clock, rooms } = services.deps;
  if (await db.teams.findOne({ name: input.name }, { projection: { _id: 1 } })) {
    throw teamFailure("team-name-already-exists");
  }
  const clash = await db.rooms.findOne(
    { name: { $regex: `^${escapeRegex(input.name)}$`, $options: "i" } },
    { projection: { _id: 1 } },
  );
  if (clash && clash._id !== input.roomId) throw teamFailure("room-name-already-exists");
  const owner = input.owner ? await db.users.findOne({ _id: input.owner }) : me;
  if (!owner) throw teamFailure("invalid-user");
  const members = await activeUsers(services, input.members ?? []);

  const now = clock.now();
  const team: Team = {
    _id: ids.id(),
    name: input.name,
    type: input.type,
    roomId: input.roomId ?? "",
    createdBy: userRef(me),
    createdAt: now,
    _updatedAt: now,
  };
  try {
    await db.teams.insertOne(team);
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw teamFailure("team-name-already-exists");
    throw error;
  }
  let created: Room | undefined;
  try {
    if (!input.roomId) {
      created = await services.rooms.create({
        type: input.type === 1 ? "p" : "c",
        name: input.name,
        owner,
        members: members.map((m) => m.username).filter((u) => u !== owner.username),
      });
    }
    const roomId = input.roomId ?? (created as Room)._id;
    await db.teams.updateOne({ _id: team._id }, { $set: { roomId } });
    team.roomId = roomId;
    await rooms.execute(roomId, {
      kind: "team.makeMain",
      user: me,
      teamId: team._id,
      owner,
      converted: input.roomId !== undefined,
      teamName: input.name,
    });
  } catch (error) {
    await db.teams.deleteOne({ _id: team._id });
    if (created)
      await rooms.execute(created._id, { kind: "lifecycle.erase", user: me, cascade: true });
    if (error instanceof ClientError) throw teamFailure("error-team-creation");
    throw error;
  }
  return team;
}

async function withCounts(services: Services, teams: Team[]): Promise<TeamInfo[]> {
  const { db } = services.deps;
  return Promise.all(
    teams.map(async (team) => ({
      ...team,
      rooms: await db.rooms.countDocuments({ teamId: team._id }),
      numberOfUsers: await db.teamMembers.countDocuments({ teamId: team._id }),
    })),
  );
}

/** One page of the teams `uid` belongs to, each with its counts. */
export async function listTeamsOf(
  services: Services,
  uid: string,
  page: PageRequest,
): Promise<{ teams: TeamInfo[]; total: number }> {
  const { db } = services.deps;
  const mine = await db.teamMembers.find({ userId: uid }, { projection: { teamId: 1 } });
  const query = { _id: { $in: mine.map((m) => m.teamId) } };
  const [teams, total] = await Promise.all([
    db.teams.find(query, { sort: page.sort ?? { name: 1 }, skip: page.offset, limit: page.count }),
    db.teams.countDocuments(query),
  ]);
  return { teams: await withCounts(services, teams), total };
}

/** One page of every team, each with its counts. */
export async function listAllTeams(
  services: Services,
  page: PageRequest,
): Promise<{ teams: TeamInfo[]; total: number }> {
  const { db } = services.deps;
  const [teams, total] = await Promise.all([
    db.teams.find({}, { sort: { name: 1 }, skip: page.offset, limit: page.count }),
    db.teams.countDocuments({}),
  ]);
  return { teams: await withCounts(services, teams), total };
}

/** Filters of teams.members: parts of username or name (ignoring case), statuses. */
export interface MemberFilter {
  readonly username?: string;
  readonly name?: string;
  readonly status?: readonly string[];
}

/**
 * One page of `team`'s active members, as Rocket.Chat lists them (`user`, `roles`,
 * `createdBy`, `createdAt`); empty for a caller who is not a member and may not see all.
 */
export async function teamMembers(
  services: Services,
  me: User,
  team: Team,
  canSeeAll: boolean,
  page: PageRequest,
  filter: MemberFilter,
): Promise<{ members: Record<string, unknown>[]; total: number }> {
  const { db } = services.deps;
  if (!canSeeAll && !(await services.authz.isTeamMember(team._id, me._id))) {
    return { members: [], total: 0 };
  }
  const like = (text: string) => ({ $regex: escapeRegex(text), $options: "i" });
  const records = await db.teamMembers.find({ teamId: team._id }, { sort: { createdAt: 1 } });
  const users = await db.users.find({
    _id: { $in: records.map((r) => r.userId) },
    active: true,
    ...(filter.username && { username: like(filter.username) }),
    ...(filter.name && { name: like(filter.name) }),
    ...(filter.status && { status: { $in: [...filter.status] } }),
  });
  const byId = new Map(users.map((u) => [u._id, u]));
  const matching = records.filter((r) => byId.has(r.userId));
  const shown = matching.slice(page.offset, page.offset + page.count);
  return {
    members: shown.map((r) => memberInfo(r, byId.get(r.userId) as User)),
    total: matching.length,
  };
}

function memberInfo(record: TeamMember, user: User): Record<string, unknown> {
  return {
    user: pick(user, ["_id", "username", "name", "status", "settings"]),
    roles: record.roles,
    createdBy: { _id: record.createdBy._id, username: record.createdBy.username },
    createdAt: record.createdAt,
  };
}

/** Users by id, in the order given; throws `invalid-user` for one that does not exist. */
async function usersById(services: Services, userIds: readonly string[]): Promise<User[]> {
  const users: User[] = [];
  for (const userId of userIds) {
    const user = await services.deps.db.users.findOne({ _id: userId });
    if (!user) throw teamFailure("invalid-user");
    users.push(user);
  }
  return users;
}

/**
 * Adds members to `team` as `by`, each with the roles given: they join the main room
 * (and so the team) and its auto-join rooms. Every user is checked before anyone is added.
 */
export async function addTeamMembers(
  services: Services,
  by: User,
  team: Team,
  members: readonly { readonly userId: string; readonly roles?: readonly string[] | null }[],
): Promise<void> {
  const users = await usersById(
    services,
    members.map((m) => m.userId),
  );
  for (const [i, user] of users.entries()) {
    const roles = members[i]?.roles ?? [];
    await services.deps.rooms.execute(team.roomId, { kind: "team.addMember", by, user, roles });
  }
}

/** Sets member `userId`'s team roles (on the membership and their main-room subscription). */
export async function updateTeamMember(
  services: Services,
  team: Team,
  member: { readonly userId: string; readonly roles?: readonly string[] | null },
): Promise<void> {
  await services.deps.rooms.execute(team.roomId, {
    kind: "team.updateMember",
    userId: member.userId,
    roles: member.roles ?? [],
  });
}

/** Ids of those of `rids` that are rooms of `team` (its main room left out). */
export async function matchingTeamRooms(
  services: Services,
  team: Team,
  rids: readonly string[],
): Promise<string[]> {
  if (rids.length === 0) return [];
  const rooms = await services.deps.db.rooms.find(
    { teamId: team._id, teamMain: { $ne: true }, _id: { $in: [...rids] } },
    { projection: { _id: 1 } },
  );
  return rooms.map((r) => r._id);
}

/**
 * Takes `user` out of `team` as `by` (leaving when they are the same), then out of those
 * of `rooms` that belong to the team. The last owner cannot go.
 */
export async function removeTeamMember(
  services: Services,
  by: User,
  team: Team,
  user: User,
  rooms: readonly string[] = [],
): Promise<void> {
  const { deps } = services;
  await deps.rooms.execute(team.roomId, { kind: "team.removeMember", by, user });
  for (const rid of await matchingTeamRooms(services, team, rooms)) {
    await deps.rooms.execute(rid, { kind: "team.removeMember", by, user });
  }
}

/**
 * Puts the rooms `rids` in `team` as `user`: each must exist and be readable by the user
 * (`invalid-room`), be in no team (`room-already-on-team`) and be owned by the user
 * (`error-no-owner-channel`). Channels are announced in the main room. Resolves to the
 * rooms as they are afterwards.
 */
export async function addTeamRooms(
  services: Services,
  user: User,
  team: Team,
  rids: readonly string[],
): Promise<Record<string, unknown>[]> {
  const { deps, authz } = services;
  const wanted = [...new Set(rids.filter(Boolean))];
  const found = await deps.db.rooms.find({ _id: { $in: wanted } });
  if (found.length < wanted.length) throw teamFailure("invalid-room");
  for (const room of found) {
    if (!(await authz.canAccessRoom(room, user))) throw teamFailure("invalid-room");
  }
  for (const room of found) {
    if (room.teamId !== undefined) throw teamFailure("room-already-on-team");
    if (!(await ownsRoom(services, user, room))) throw teamFailure("error-no-owner-channel");
  }
  const added: Record<string, unknown>[] = [];
  for (const room of found) {
    const after = await deps.rooms.execute(room._id, {
      kind: "team.attach",
      user,
      teamId: team._id,
    });
    if (after.t === "c") {
      await deps.rooms.execute(team.roomId, {
        kind: "team.notice",
        user,
        t: "user-added-room-to-team",
        msg: after.name ?? "",
      });
    }
    added.push(roomView(after));
  }
  return added;
}

async function ownsRoom(services: Services, user: User, room: Room): Promise<boolean> {
  const sub = await services.rooms.subscription(room._id, user._id);
  return sub?.roles?.includes("owner") === true;
}

/**
 * Takes room `rid` out of `team` as `user`, who must be able to read it unless
 * `canRemoveAny`. Resolves to the room afterwards.
 */
export async function removeTeamRoom(
  services: Services,
  user: User,
  team: Team,
  rid: string,
  canRemoveAny: boolean,
): Promise<Record<string, unknown>> {
  const { deps, authz } = services;
  const room = await deps.db.rooms.findOne({ _id: rid });
  if (!room) throw teamFailure("invalid-room");
  if (!canRemoveAny && !(await authz.canAccessRoom(room, user))) throw teamFailure("invalid-room");
  const after = await deps.rooms.execute(rid, { kind: "team.detach", user, teamId: team._id });
  if (after.t === "c") {
    await deps.rooms.execute(team.roomId, {
      kind: "team.notice",
      user,
      t: "user-removed-room-from-team",
      msg: after.name ?? "",
    });
  }
  return roomView(after);
}

/** The team room `rid` belongs to; throws `invalid-room` or `room-not-on-team`. */
export async function teamOfRoom(services: Services, rid: string): Promise<Team> {
  const room = await services.deps.db.rooms.findOne({ _id: rid }, { projection: { teamId: 1 } });
  if (!room) throw teamFailure("invalid-room");
  if (typeof room.teamId !== "string") throw teamFailure("room-not-on-team");
  return requireTeam(services, { teamId: room.teamId });
}

/**
 * Marks team room `rid` auto-join, or not, as `user` (who must be able to read it unless
 * `canUpdateAny`). Turning it on adds the team's members to it, at most `API_User_Limit`
 * of them, the room's owner left out. Resolves to the room afterwards.
 */
export async function updateTeamRoom(
  services: Services,
  user: User,
  team: Team,
  rid: string,
  isDefault: boolean,
  canUpdateAny: boolean,
): Promise<Record<string, unknown>> {
  const { deps, authz, settings } = services;
  const room = await deps.db.rooms.findOne({ _id: rid });
  if (!room) throw teamFailure("invalid-room");
  if (!canUpdateAny && !(await authz.canAccessRoom(room, user))) throw teamFailure("invalid-room");
  let after = await deps.rooms.execute(rid, { kind: "team.setDefault", isDefault });
  if (isDefault) {
    const limit = settings.get<number>("API_User_Limit") ?? 500;
    const records = await deps.db.teamMembers.find(
      { teamId: team._id, userId: { $ne: room.u?._id ?? "" } },
      { sort: { createdAt: 1 }, limit },
    );
    const users = await deps.db.users.find({
      _id: { $in: records.map((r) => r.userId) },
      active: true,
    });
    for (const member of users) {
      after = await deps.rooms.execute(rid, {
        kind: "team.addMember",
        by: user,
        user: member,
        roles: [],
      });
    }
  }
  return roomView(after);
}

/** What teams.listRooms lists: a name filter, auto-join rooms only, every room or the caller's. */
export interface RoomsFilter {
  readonly name?: string;
  readonly isDefault: boolean;
  readonly getAllRooms: boolean;
  readonly allowPrivateTeam: boolean;
}

/**
 * One page of `team`'s rooms (its main room left out) for `user`: every room with
 * `getAllRooms`, else its public channels and the rooms the user is in. A private team's
 * rooms are listed only to its members unless `allowPrivateTeam`
 * (`user-not-on-private-team`).
 */
export async function listTeamRooms(
  services: Services,
  user: User,
  team: Team,
  filter: RoomsFilter,
  page: PageRequest,
): Promise<{ rooms: Record<string, unknown>[]; total: number }> {
  const { db } = services.deps;
  const member = await services.authz.isTeamMember(team._id, user._id);
  if (team.type === 1 && !filter.allowPrivateTeam && !member) {
    throw teamFailure("user-not-on-private-team");
  }
  const name = filter.name?.trim();
  const mine = filter.getAllRooms
    ? undefined
    : (await db.subscriptions.find({ "u._id": user._id }, { projection: { rid: 1 } })).map(
        (s) => s.rid,
      );
  const query: Filter = {
    teamId: team._id,
    teamMain: { $ne: true },
    ...(name && { name: { $regex: escapeRegex(name), $options: "i" } }),
    ...(filter.isDefault && { teamDefault: true }),
    ...(mine && { $or: [{ t: "c" }, { _id: { $in: mine } }] }),
  };
  const [rooms, total] = await Promise.all([
    db.rooms.find(query, { sort: { name: 1 }, skip: page.offset, limit: page.count }),
    db.rooms.countDocuments(query),
  ]);
  return { rooms: rooms.map(roomView), total };
}

/** Which children teams.listChildren lists: rooms of the team, discussions of its main room, or both. */
export type ChildrenKind = "channels" | "discussions";

/**
 * One page of what `user`, a member of `team`, can open inside it: the team's rooms (its
 * main room included) and the discussions of its main room, each public or with the user
 * among its members, filtered by `name` (part of name or display name, any case) and
 * `kind`. Sorted by `page.sort`, creation time by default. Refuses a user who is not a
 * member of the team with `error-invalid-team-not-a-member`.
 */
export async function listTeamChildren(
  services: Services,
  user: User,
  team: Team,
  filter: { readonly name?: string; readonly kind?: ChildrenKind },
  page: PageRequest,
): Promise<{ data: Record<string, unknown>[]; total: number }> {
  const { db } = services.deps;
  const main = await db.rooms.findOne({ _id: team.roomId }, { projection: { _id: 1 } });
  if (!main) throw teamFailure("error-invalid-team-no-main-room");
  if (!(await services.authz.isTeamMember(team._id, user._id))) {
    throw teamFailure("error-invalid-team-not-a-member");
  }
  const mine = await db.subscriptions.find(
    { "u._id": user._id, t: { $ne: "c" } },
    { projection: { rid: 1 } },
  );
  const like = filter.name && { $regex: escapeRegex(filter.name), $options: "i" };
  const query: Filter = {
    $and: [
      {
        $or: [
          ...(filter.kind !== "discussions" ? [{ teamId: team._id }] : []),
          ...(filter.kind !== "channels" ? [{ prid: team.roomId }] : []),
        ],
      },
      ...(like ? [{ $or: [{ fname: like }, { name: like }] }] : []),
      { $or: [{ t: "c" }, { _id: { $in: mine.map((s) => s.rid) } }] },
    ],
  };
  const [rooms, total] = await Promise.all([
    db.rooms.find(query, { sort: page.sort ?? { ts: 1 }, skip: page.offset, limit: page.count }),
    db.rooms.countDocuments(query),
  ]);
  return { data: rooms.map(roomView), total };
}

/**
 * One page of `team`'s rooms that user `userId` is in, each with `isLastOwner`; with
 * `canUserDelete`, only those the user may delete. Refused as listTeamRooms is.
 */
export async function listTeamRoomsOfUser(
  services: Services,
  caller: User,
  team: Team,
  userId: string,
  allowPrivateTeam: boolean,
  canUserDelete: boolean,
  page: PageRequest,
): Promise<{ rooms: Record<string, unknown>[]; total: number }> {
  const { db } = services.deps;
  const { authz } = services;
  const member = await authz.isTeamMember(team._id, caller._id);
  if (team.type === 1 && !allowPrivateTeam && !member) {
    throw teamFailure("user-not-on-private-team");
  }
  const teamRooms = await db.rooms.find(
    { teamId: team._id, t: { $in: ["c", "p"] } },
    { projection: { _id: 1, t: 1 } },
  );
  const user = await db.users.findOne({ _id: userId });
  let rids = teamRooms.map((r) => r._id);
  if (canUserDelete) {
    const allowed: string[] = [];
    for (const room of teamRooms) {
      const kind = room.t === "c" ? "channel" : "group";
      const ok =
        user !== null &&
        (await authz.can(user, `delete-team-${kind}`, team.roomId)) &&
        (await authz.can(user, `delete-${room.t}`, room._id));
      if (ok) allowed.push(room._id);
    }
    rids = allowed;
  }
  const subs = await db.subscriptions.find({ "u._id": userId, rid: { $in: rids } });
  const query = { _id: { $in: subs.map((s) => s.rid) } };
  const [rooms, total] = await Promise.all([
    db.rooms.find(query, { sort: { name: 1 }, skip: page.offset, limit: page.count }),
    db.rooms.countDocuments(query),
  ]);
  const result: Record<string, unknown>[] = [];
  for (const room of rooms) {
    const owners = await db.subscriptions.find(
      { rid: room._id, roles: "owner" },
      { projection: { "u._id": 1 } },
    );
    const isLastOwner = owners.length === 1 && owners[0]?.u._id === userId;
    result.push({ ...roomView(room), isLastOwner });
  }
  return { rooms: result, total };
}

/**
 * Up to 10 team main rooms whose name or display name starts with `name` (ignoring
 * case), public ones and those `user` is in, by name: teams.autocomplete.
 */
export async function autocompleteTeams(
  services: Services,
  user: User,
  name: string,
): Promise<Record<string, unknown>[]> {
  const { db } = services.deps;
  const subs = await db.subscriptions.find({ "u._id": user._id }, { projection: { rid: 1 } });
  const term = { $regex: `^${escapeRegex(name.trim())}`, $options: "i" };
  const rooms = await db.rooms.find(
    {
      teamMain: true,
      $and: [
        { $or: [{ name: term }, { fname: term }] },
        { $or: [{ t: "c" }, { _id: { $in: subs.map((s) => s.rid) } }] },
      ],
    },
    { sort: { name: 1, fname: 1 }, limit: 10 },
  );
  return rooms.map((room) => pick(room, ["_id", "fname", "teamId", "name", "t", "avatarETag"]));
}

/**
 * Ends `team` as `user`: the rooms of `roomsToRemove` that belong to it are deleted, the
 * others go back to the workspace, and its main room is deleted too (`keepMainRoom`
 * false, teams.delete) or becomes a plain room (teams.convertToChannel). Before anything
 * changes, each room to delete is checked: the user needs `delete-c`/`delete-p` in it or
 * `delete-team-channel`/`delete-team-group` in the team (`error-not-allowed`).
 */
export async function endTeam(
  services: Services,
  user: User,
  team: Team,
  roomsToRemove: readonly string[],
  keepMainRoom: boolean,
): Promise<void> {
  const { deps, authz } = services;
  const doomed = await matchingTeamRooms(services, team, roomsToRemove);
  const rooms = await deps.db.rooms.find({ _id: { $in: doomed } }, { projection: { t: 1 } });
  for (const room of rooms) {
    const kind = room.t === "c" ? "channel" : "group";
    const mayDelete =
      (await authz.can(user, `delete-${room.t}`, room._id)) ||
      (await authz.can(user, `delete-team-${kind}`, team.roomId));
    if (!mayDelete) {
      throw new ClientError("error-not-allowed", "Not allowed", {
        details: { method: "eraseRoom" },
      });
    }
  }
  for (const rid of doomed) await eraseCascade(services, user, rid);
  const main = await deps.db.rooms.findOne({ _id: team.roomId }, { projection: { _id: 1 } });
  if (main) {
    await deps.rooms.execute(team.roomId, { kind: "team.unmakeMain", user });
    if (!keepMainRoom) await eraseCascade(services, user, team.roomId);
  }
  await dissolveTeam(deps, user, team._id);
}

/** Deletes room `rid` and its discussions, the team's permission standing for the room's. */
async function eraseCascade(services: Services, user: User, rid: string): Promise<void> {
  await eraseDiscussions(services.deps, user, [rid]);
  await services.deps.rooms.execute(rid, { kind: "lifecycle.erase", user, cascade: true });
}

/**
 * Turns channel or group `room` into a team of the same name and type, its members the
 * team's members and `me` its owner (channels.convertToTeam, groups.convertToTeam).
 */
export async function convertRoomToTeam(services: Services, me: User, room: Room): Promise<Team> {
  const subs = await services.deps.db.subscriptions.find(
    { rid: room._id },
    { projection: { "u._id": 1 } },
  );
  return createTeam(services, me, {
    name: room.name ?? "",
    type: room.t === "c" ? 0 : 1,
    members: subs.map((s) => s.u._id),
    roomId: room._id,
  });
}

/**
 * The teams user `userId` belongs to, each with `isOwner`; with `callerId`, only the
 * public ones and those the caller belongs to as well (users.listTeams).
 */
export async function teamsOfUser(
  services: Services,
  userId: string,
  callerId?: string,
): Promise<Record<string, unknown>[]> {
  const { db } = services.deps;
  const records = await db.teamMembers.find({ userId });
  const ids = records.map((r) => r.teamId);
  let teams = await db.teams.find({ _id: { $in: ids } }, { sort: { name: 1 } });
  if (callerId !== undefined && callerId !== userId) {
    const shared = await db.teamMembers.find(
      { userId: callerId, teamId: { $in: ids } },
      { projection: { teamId: 1 } },
    );
    const visible = new Set(shared.map((m) => m.teamId));
    teams = teams.filter((t) => t.type === 0 || visible.has(t._id));
  }
  const owned = new Set(records.filter((r) => r.roles?.includes("owner")).map((r) => r.teamId));
  return teams.map((team) => ({ ...team, isOwner: owned.has(team._id) }));
}
