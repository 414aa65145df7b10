/**
 * Team commands of the room actor: making a room its team's main room or a team room and
 * back, marking a team room auto-join, and the team's membership, which its main room's
 * actor alone writes (see team-members.ts) so that joins, departures and the last-owner
 * rule never race. Each answers with the room as it is afterwards and tells the members
 * on `rooms-changed` (and `subscriptions-changed` where their subscription changed).
 */
import { ClientError } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import { subscribe, unsubscribe } from "./membership-commands.ts";
import { persistMessage, systemMessage } from "./message-commands.ts";
import {
  announceRoom,
  announceSubscription,
  postSystemMessage,
  updateRoom,
} from "./room-changes.ts";
import type { CommandDeps, CommandHandlers, RoomState } from "./room-commands.ts";
import { dropTeamMember, mainTeamOf, membershipNotice, recordTeamMember } from "./team-members.ts";

/** The team commands; each answers with the room. */
export type TeamCommand =
  | {
      readonly kind: "team.makeMain";
      readonly user: User;
      readonly teamId: string;
      /** Who owns the team: recorded as its first owner. */
      readonly owner: User;
      /** An existing room becomes the team (posts `user-converted-to-team`). */
      readonly converted: boolean;
      readonly teamName: string;
    }
  | { readonly kind: "team.unmakeMain"; readonly user: User }
  | { readonly kind: "team.attach"; readonly user: User; readonly teamId: string }
  | { readonly kind: "team.detach"; readonly user: User; readonly teamId: string }
  | { readonly kind: "team.setDefault"; readonly isDefault: boolean }
  | { readonly kind: "team.notice"; readonly user: User; readonly t: string; readonly msg: string }
  | {
      readonly kind: "team.addMember";
      readonly by: User;
      readonly user: User;
      readonly roles: readonly string[];
    }
  | {
      readonly kind: "team.updateMember";
      readonly userId: string;
      readonly roles: readonly string[];
    }
  | { readonly kind: "team.removeMember"; readonly by: User; readonly user: User };

type Outcome = Promise<{ state: RoomState; reply: Room }>;

/** Rocket.Chat's team refusals: a plain code as the whole error text. */
export function teamFailure(code: string): ClientError {
  return new ClientError(code, code, { plain: true });
}

async function done(deps: CommandDeps, state: RoomState, subscriptions = false): Outcome {
  await announceRoom(deps, state, subscriptions);
  return { state, reply: state.room };
}

/**
 * Makes the room team `teamId`'s main room: every member joins the team, `owner` as its
 * owner (even when not subscribed, as Rocket.Chat records the creator).
 */
async function makeMain(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<TeamCommand, { kind: "team.makeMain" }>,
): Outcome {
  if (state.room.teamId !== undefined) throw teamFailure("error-team-creation");
  let next = await updateRoom(deps, state, { $set: { teamMain: true, teamId: c.teamId } });
  for (const uid of next.members) {
    await recordTeamMember(deps, c.teamId, uid, c.user, uid === c.owner._id ? ["owner"] : []);
  }
  await recordTeamMember(deps, c.teamId, c.owner._id, c.user, ["owner"]);
  if (c.converted) {
    next = await postSystemMessage(deps, next, c.user, "user-converted-to-team", c.teamName);
  }
  return done(deps, next);
}

/** Turns the team's main room back into a plain room; the team loses every member. */
async function unmakeMain(deps: CommandDeps, state: RoomState, user: User): Outcome {
  const teamId = mainTeamOf(state.room);
  if (teamId === undefined) throw teamFailure("room-not-on-team");
  let next = await postSystemMessage(
    deps,
    state,
    user,
    "user-converted-to-channel",
    state.room.name ?? "",
  );
  next = await updateRoom(deps, next, { $unset: { teamMain: "", teamId: "", teamDefault: "" } });
  await deps.db.teamMembers.deleteMany({ teamId });
  return done(deps, next);
}

/** Puts the room in team `teamId`; only an owner of the room may. */
async function attach(deps: CommandDeps, state: RoomState, user: User, teamId: string): Outcome {
  if (state.room.teamId !== undefined) throw teamFailure("room-already-on-team");
  const sub = await deps.db.subscriptions.findOne(
    { rid: state.room._id, "u._id": user._id },
    { projection: { roles: 1 } },
  );
  if (!sub?.roles?.includes("owner")) throw teamFailure("error-no-owner-channel");
  return done(deps, await updateRoom(deps, state, { $set: { teamId } }));
}

/** Takes the room out of team `teamId` (not its main room). */
async function detach(deps: CommandDeps, state: RoomState, teamId: string): Outcome {
  if (state.room.teamId !== teamId || state.room.teamMain) {
    throw teamFailure("room-not-on-that-team");
  }
  return done(deps, await updateRoom(deps, state, { $unset: { teamId: "", teamDefault: "" } }));
}

/** Marks the team room auto-join, or not. */
async function setDefault(deps: CommandDeps, state: RoomState, isDefault: boolean): Outcome {
  if (state.room.teamId === undefined) throw teamFailure("room-not-on-team");
  return done(deps, await updateRoom(deps, state, { $set: { teamDefault: isDefault } }));
}

/**
 * Adds `user` to the room as `by` without a permission of the room's own (the team's
 * permissions were checked), posting `au` (`added-user-to-team` in a main room). In a
 * main room the user joins the team with `roles`, also added to their subscription.
 */
async function addMember(
  deps: CommandDeps,
  state: RoomState,
  c: Extract<TeamCommand, { kind: "team.addMember" }>,
): Outcome {
  let next = state;
  if (!state.members.has(c.user._id)) {
    next = await subscribe(deps, state, c.user, c.by, c.roles);
    const self = c.by._id === c.user._id;
    const notice = membershipNotice(next.room, self ? "uj" : "au");
    next = await persistMessage(
      deps,
      next,
      systemMessage(deps, next.room, notice, self ? c.user : c.by, c.user.username),
      false,
    );
  } else {
    const teamId = mainTeamOf(state.room);
    if (teamId) await recordTeamMember(deps, teamId, c.user._id, c.by, c.roles);
  }
  if (mainTeamOf(next.room) && c.roles.length > 0) await addSubscriptionRoles(deps, next, c);
  return { state: next, reply: next.room };
}

async function addSubscriptionRoles(
  deps: CommandDeps,
  state: RoomState,
  c: { readonly user: User; readonly roles: readonly string[] },
): Promise<void> {
  const sub = await deps.db.subscriptions.findOneAndUpdate(
    { rid: state.room._id, "u._id": c.user._id },
    { $addToSet: { roles: { $each: [...c.roles] } }, $set: { _updatedAt: deps.clock.now() } },
  );
  if (sub) announceSubscription(deps, sub);
}

/** Sets the team roles of member `userId`, on their membership and their subscription. */
async function updateMember(
  deps: CommandDeps,
  state: RoomState,
  userId: string,
  roles: readonly string[],
): Outcome {
  const teamId = mainTeamOf(state.room);
  if (teamId === undefined) throw teamFailure("invalid-team");
  const now = deps.clock.now();
  await deps.db.teamMembers.updateOne(
    { teamId, userId },
    { $set: { roles: [...roles], _updatedAt: now } },
  );
  const sub = await deps.db.subscriptions.findOneAndUpdate(
    { rid: state.room._id, "u._id": userId },
    { $set: { roles: [...roles], _updatedAt: now } },
  );
  if (sub) announceSubscription(deps, sub);
  return { state, reply: state.room };
}

/**
 * Takes `user` out of the room as `by` (the user themselves when leaving), without a
 * permission of the room's own. In a team's main room the user leaves the team: its last
 * owner cannot (`last-owner-can-not-be-removed`), nor can someone who is neither a
 * member nor subscribed (`member-does-not-exist`). Elsewhere a non-member is left alone.
 */
async function removeMember(deps: CommandDeps, state: RoomState, by: User, user: User): Outcome {
  const teamId = mainTeamOf(state.room);
  const subscribed = state.members.has(user._id);
  if (teamId !== undefined) {
    const member = await deps.db.teamMembers.findOne({ teamId, userId: user._id });
    if (!member && !subscribed) throw teamFailure("member-does-not-exist");
    if (member?.roles?.includes("owner")) {
      const owners = await deps.db.teamMembers.countDocuments({ teamId, roles: "owner" });
      if (owners === 1) throw teamFailure("last-owner-can-not-be-removed");
    }
    if (!subscribed) await dropTeamMember(deps, teamId, user._id);
  }
  if (!subscribed) return { state, reply: state.room };
  let next = await unsubscribe(deps, state, user);
  const leaving = by._id === user._id;
  const notice = membershipNotice(next.room, leaving ? "ul" : "ru");
  next = await persistMessage(
    deps,
    next,
    systemMessage(deps, next.room, notice, by, user.username),
    false,
  );
  return { state: next, reply: next.room };
}

export const teamHandlers: CommandHandlers<TeamCommand> = {
  "team.makeMain": makeMain,
  "team.unmakeMain": (deps, state, c) => unmakeMain(deps, state, c.user),
  "team.attach": (deps, state, c) => attach(deps, state, c.user, c.teamId),
  "team.detach": (deps, state, c) => detach(deps, state, c.teamId),
  "team.setDefault": (deps, state, c) => setDefault(deps, state, c.isDefault),
  "team.notice": async (deps, state, c) => {
    const next = await postSystemMessage(deps, state, c.user, c.t, c.msg);
    return { state: next, reply: next.room };
  },
  "team.addMember": addMember,
  "team.updateMember": (deps, state, c) => updateMember(deps, state, c.userId, c.roles),
  "team.removeMember": (deps, state, c) => removeMember(deps, state, c.by, c.user),
};
