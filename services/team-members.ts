/**
 * The team-membership records (`rocketchat_team_member`) a team's main room actor keeps:
 * whoever is subscribed to a team's main room belongs to the team, so the commands that
 * change that room's members write these records in the same actor, one at a time.
 */
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Deps } from "./context.ts";
import type { RoomCommand } from "./room-commands.ts";

type MemberDeps = Pick<Deps, "db" | "ids" | "clock">;

/** The team a room's members belong to: its own team when it is a team's main room. */
export function mainTeamOf(room: Room): string | undefined {
  return room.teamMain === true && typeof room.teamId === "string" ? room.teamId : undefined;
}

/**
 * Records `userId` as a member of team `teamId`, added by `by`, adding `roles` to the
 * roles the member holds. A member already recorded keeps when and by whom it was added.
 */
export async function recordTeamMember(
  deps: MemberDeps,
  teamId: string,
  userId: string,
  by: Pick<User, "_id" | "username">,
  roles: readonly string[] = [],
): Promise<void> {
  const now = deps.clock.now();
  await deps.db.teamMembers.updateOne(
    { teamId, userId },
    {
      $setOnInsert: {
        _id: deps.ids.id(),
        teamId,
        userId,
        createdBy: { _id: by._id, username: by.username },
        createdAt: now,
      },
      $set: { _updatedAt: now },
      ...(roles.length > 0 && { $addToSet: { roles: { $each: [...roles] } } }),
    },
    { upsert: true },
  );
}

/** Removes `userId` from team `teamId`; resolves whether they were a member. */
export async function dropTeamMember(
  deps: Pick<Deps, "db">,
  teamId: string,
  userId: string,
): Promise<boolean> {
  return (await deps.db.teamMembers.deleteOne({ teamId, userId })) > 0;
}

/**
 * The system message type of a membership change: a team's main room says the user
 * joined, left, was added to or removed from the team (`ujt`, `ult`,
 * `added-user-to-team`, `removed-user-from-team`) where other rooms say `uj`, `ul`,
 * `au` and `ru`.
 */
export function membershipNotice(room: Room, type: "uj" | "ul" | "au" | "ru"): string {
  if (mainTeamOf(room) === undefined) return type;
  const team = {
    uj: "ujt",
    ul: "ult",
    au: "added-user-to-team",
    ru: "removed-user-from-team",
  } as const;
  return team[type];
}

/** The users a command adds to its room, and who adds them. */
function joinersOf(command: RoomCommand): { by: User; users: readonly User[] } | undefined {
  if (command.kind === "join") return { by: command.user, users: [command.user] };
  if (command.kind === "add") return { by: command.by, users: command.users };
  if (command.kind === "team.addMember") return { by: command.by, users: [command.user] };
  return undefined;
}

/**
 * What follows a command that added users to a team's main room: they join the team's
 * auto-join rooms, each through that room's own actor (never from inside the main room's
 * actor, which must not wait on another). The room gateway runs this after every command,
 * so joining a team by any route (teams.addMembers, channels.join, invitations, DDP
 * methods) has the same effect. An auto-join room deleted meanwhile is skipped.
 */
export async function joinAutoJoinRooms(
  deps: Pick<Deps, "db" | "rooms">,
  command: RoomCommand,
  reply: unknown,
): Promise<void> {
  const joiners = joinersOf(command);
  const room = reply as Room | undefined;
  const teamId = joiners && room ? mainTeamOf(room) : undefined;
  if (!joiners || teamId === undefined) return;
  const defaults = await deps.db.rooms.find(
    { teamId, teamDefault: true, teamMain: { $ne: true } },
    { projection: { _id: 1 } },
  );
  for (const target of defaults) {
    for (const user of joiners.users) {
      await deps.rooms
        .execute(target._id, { kind: "team.addMember", by: joiners.by, user, roles: [] })
        .catch((error: unknown) => {
          if (!(error instanceof ClientError)) throw error;
        });
    }
  }
}

/**
 * Ends team `teamId` once its main room is gone or plain again: its other rooms go back
 * to the workspace, each through its own actor, and its memberships and record are
 * deleted. A room deleted meanwhile is skipped.
 */
export async function dissolveTeam(
  deps: Pick<Deps, "db" | "rooms">,
  user: User,
  teamId: string,
): Promise<void> {
  const rooms = await deps.db.rooms.find(
    { teamId, teamMain: { $ne: true } },
    { projection: { _id: 1 } },
  );
  for (const room of rooms) {
    await deps.rooms.execute(room._id, { kind: "team.detach", user, teamId }).catch((error) => {
      if (!(error instanceof ClientError)) throw error;
    });
  }
  await deps.db.teamMembers.deleteMany({ teamId });
  await deps.db.teams.deleteOne({ _id: teamId });
}
