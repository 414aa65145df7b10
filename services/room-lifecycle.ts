/**
 * Deleting rooms and pruning history, as the REST routes and DDP methods run them: each
 * room is deleted by its own actor, and a room's discussions (rooms whose `prid` is it,
 * and theirs in turn) are deleted along with it. The discussions are driven from here,
 * outside any actor, so that no actor waits on another.
 */
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Deps } from "./context.ts";
import type { Services } from "./index.ts";
import type { CleanHistoryOptions } from "./room-lifecycle-commands.ts";
import { dissolveTeam, mainTeamOf } from "./team-members.ts";

type LifecycleDeps = Pick<Deps, "db" | "rooms" | "log">;

function isMissing(error: unknown): boolean {
  return error instanceof ClientError && error.error === "error-room-not-found";
}

/**
 * Every discussion under the rooms `parents`, at any depth, deepest first. Each room is
 * visited once, so a corrupt `prid` cycle ends the walk instead of looping.
 */
async function discussionsUnder(
  deps: LifecycleDeps,
  parents: readonly string[],
): Promise<string[]> {
  const seen = new Set(parents);
  const found: string[] = [];
  let level = [...parents];
  while (level.length > 0) {
    const children = await deps.db.rooms.find({ prid: { $in: level } }, { projection: { _id: 1 } });
    level = children.map((c) => c._id).filter((id) => !seen.has(id));
    for (const id of level) seen.add(id);
    found.push(...level);
  }
  return found.reverse();
}

/**
 * Deletes the discussions under `parents` (not the parents), each through its actor and
 * without permission checks of its own: whoever may delete a room may delete what was
 * said in it. One deleted meanwhile by someone else is skipped.
 */
export async function eraseDiscussions(
  deps: LifecycleDeps,
  user: User,
  parents: readonly string[],
): Promise<void> {
  for (const rid of await discussionsUnder(deps, parents)) {
    try {
      await deps.rooms.execute(rid, { kind: "lifecycle.erase", user, cascade: true });
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
}

/**
 * Deletes room `rid` as `user` with its discussions, as Rocket.Chat's eraseRoom. Throws
 * `error-invalid-room` for a room that does not exist and `error-not-allowed` without
 * `delete-c`, `delete-p` or `delete-d` in the room (checked before any discussion goes).
 * Discussions started while the room was being deleted are deleted after it. Resolves to
 * the deleted room.
 * The messages of other rooms that linked to the room, if it was a discussion, lose the link.
 * A team's main room takes its team with it.
 */
export async function eraseRoom(services: Services, user: User, rid: string): Promise<Room> {
  const { deps, authz } = services;
  const details = { method: "eraseRoom" };
  const room = await deps.db.rooms.findOne({ _id: rid }, { projection: { t: 1 } });
  if (!room) throw new ClientError("error-invalid-room", "Invalid room", { details });
  if (!(await authz.can(user, `delete-${room.t}`, rid))) {
    throw new ClientError("error-not-allowed", "Not allowed", { details });
  }
  await eraseDiscussions(deps, user, [rid]);
  let erased: Room;
  try {
    erased = await deps.rooms.execute(rid, { kind: "lifecycle.erase", user });
  } catch (error) {
    if (isMissing(error)) throw new ClientError("error-invalid-room", "Invalid room", { details });
    throw error;
  }
  await eraseDiscussions(deps, user, [rid]);
  await unlinkEverywhere(deps, rid);
  await leaveTeam(deps, user, erased);
  return erased;
}

/**
 * What deleting a room means for its team: a deleted main room ends the team (its other
 * rooms go back to the workspace); a deleted team room is announced in the main room as
 * `user-deleted-room-from-team`.
 */
async function leaveTeam(deps: LifecycleDeps, user: User, erased: Room): Promise<void> {
  const teamId = mainTeamOf(erased);
  if (teamId) return dissolveTeam(deps, user, teamId);
  if (typeof erased.teamId !== "string") return;
  const team = await deps.db.teams.findOne({ _id: erased.teamId }, { projection: { roomId: 1 } });
  if (!team) return;
  const msg = erased.name ?? "";
  await deps.rooms
    .execute(team.roomId, { kind: "team.notice", user, t: "user-deleted-room-from-team", msg })
    .catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
}

/** Has every room holding a link to discussion `drid` (now deleted) clear it, in its actor. */
async function unlinkEverywhere(deps: LifecycleDeps, drid: string): Promise<void> {
  const linking = await deps.db.messages.find({ drid }, { projection: { rid: 1 } });
  for (const rid of new Set(linking.map((m) => m.rid))) {
    try {
      await deps.rooms.execute(rid, { kind: "lifecycle.unlinkDiscussion", drid });
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
}

/**
 * Prunes room `rid`'s history as `user` (see the `lifecycle.cleanHistory` command) and
 * deletes the discussions whose linking messages went. Resolves to how many messages went.
 */
export async function cleanRoomHistory(
  deps: LifecycleDeps,
  user: User,
  rid: string,
  options: CleanHistoryOptions,
): Promise<number> {
  const result = await deps.rooms.execute(rid, {
    kind: "lifecycle.cleanHistory",
    user,
    options,
  });
  for (const drid of result.discussions) {
    try {
      await eraseDiscussions(deps, user, [drid]);
      await deps.rooms.execute(drid, { kind: "lifecycle.erase", user, cascade: true });
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return result.count;
}
