/**
 * `teams.*`: creating, listing, describing, changing and ending teams, their members and
 * their rooms, and turning a channel or group into a team (`channels.convertToTeam`,
 * `groups.convertToTeam`) and back (`teams.convertToChannel`). Permissions are checked
 * in the team's main room (a team owner holds the owner role there), with Rocket.Chat's
 * answers: 403 `unauthorized`, and plain 400 codes such as `team-does-not-exist`.
 */
import { Elysia, t } from "elysia";
import { ClientError, invalidParams } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import {
  addTeamMembers,
  addTeamRooms,
  autocompleteTeams,
  convertRoomToTeam,
  createTeam,
  endTeam,
  findTeam,
  listAllTeams,
  listTeamChildren,
  listTeamRooms,
  listTeamRoomsOfUser,
  listTeamsOf,
  removeTeamMember,
  removeTeamRoom,
  requireTeam,
  type TeamRef,
  teamMembers,
  teamOfRoom,
  teamsOfUser,
  updateTeamMember,
  updateTeamRoom,
} from "../services/teams.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { forbidden, PAGE_QUERY, parseSort } from "./room-params.ts";
import { failure, saveSettings } from "./room-scope.ts";

const TAGS = ["Teams"];

/** `teamId` or `teamName`, as every team route takes the team. */
const TEAM_REF = { teamId: t.Optional(t.String()), teamName: t.Optional(t.String()) };

/** A member as teams.addMembers and teams.updateMember take it. */
const MEMBER = t.Object({
  userId: t.String(),
  roles: t.Optional(t.Union([t.Array(t.String()), t.Null()])),
});

/** A list of room ids that, when given, names at least one room. */
const ROOM_LIST = t.Optional(t.Array(t.String(), { minItems: 1 }));

/** Throws ajv's wording when `ref` names no team. */
function requireRef(ref: TeamRef): void {
  if (ref.teamId === undefined && ref.teamName === undefined) {
    throw invalidParams("must have required property 'teamId'");
  }
}

/** Throws the 403 unless `me` holds one of `permissions` in the team's main room. */
async function requireInTeam(
  services: Services,
  me: User,
  roomId: string,
  permissions: readonly string[],
): Promise<void> {
  for (const permission of permissions) {
    if (await services.authz.can(me, permission, roomId)) return;
  }
  throw forbidden();
}

/** The routes that create, list and describe teams. */
function teamReads(services: Services, log: Logger) {
  const { authz } = services;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/teams.list",
      async ({ me, query }) => {
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        const page = { offset, count, ...(sort && { sort }) };
        const { teams, total } = await listTeamsOf(services, me._id, page);
        return ok({ teams, total, count: teams.length, offset });
      },
      {
        access: true,
        query: t.Object({ ...PAGE_QUERY, query: t.Optional(t.String()) }),
        detail: { summary: "The teams the caller belongs to", tags: TAGS },
      },
    )
    .get(
      "/teams.listAll",
      async ({ me, query }) => {
        if (!(await authz.can(me, "view-all-teams"))) throw forbidden();
        const { count, offset } = pagination(services, query);
        const { teams, total } = await listAllTeams(services, { offset, count });
        return ok({ teams, total, count: teams.length, offset });
      },
      {
        access: true,
        query: t.Object(PAGE_QUERY),
        detail: { summary: "Every team (permission view-all-teams)", tags: TAGS },
      },
    )
    .post(
      "/teams.create",
      async ({ me, body }) => {
        if (!(await authz.can(me, "create-team"))) throw forbidden();
        // Rocket.Chat makes any room named here a team; Parley asks what converting asks.
        if (body.room?.id) {
          const room = await services.rooms.byId(body.room.id);
          if (!room || !(await authz.canAccessRoom(room, me))) throw failure("invalid-room");
          if (!(await authz.can(me, "edit-room", room._id))) throw forbidden();
        }
        const team = await createTeam(services, me, {
          name: body.name,
          type: body.type === 1 ? 1 : 0,
          members: body.members ?? [],
          ...(body.room?.id && { roomId: body.room.id }),
          ...(body.owner && { owner: body.owner }),
        });
        return ok({ team });
      },
      {
        access: true,
        body: t.Object({
          name: t.String(),
          type: t.Union([t.Literal(0), t.Literal(1)]),
          members: t.Optional(t.Union([t.Array(t.String()), t.Null()])),
          room: t.Optional(t.Union([t.Object({ id: t.Optional(t.String()) }), t.Null()])),
          owner: t.Optional(t.Union([t.String(), t.Null()])),
        }),
        detail: { summary: "Create a team, public (0) or private (1)", tags: TAGS },
      },
    )
    .get(
      "/teams.info",
      async ({ me, query }) => {
        requireRef(query);
        const teamInfo = await findTeam(services, query);
        if (!teamInfo) throw failure("Team not found");
        const room = await services.rooms.byId(teamInfo.roomId);
        if (!room) throw failure("Room not found");
        const mayRead =
          (await authz.canAccessRoom(room, me)) || (await authz.can(me, "view-all-teams"));
        if (!mayRead) throw forbidden();
        return ok({ teamInfo });
      },
      {
        access: true,
        query: t.Object(TEAM_REF),
        detail: { summary: "A team's record, by teamId or teamName", tags: TAGS },
      },
    )
    .get(
      "/teams.members",
      async ({ me, query }) => {
        requireRef(query);
        const { count, offset } = pagination(services, query);
        const team = await requireTeam(services, query);
        const canSeeAll = await authz.can(me, "view-all-teams", team.roomId);
        const status = query.status === undefined ? undefined : [query.status].flat();
        const { members, total } = await teamMembers(
          services,
          me,
          team,
          canSeeAll,
          { offset, count },
          {
            ...(query.username && { username: query.username }),
            ...(query.name && { name: query.name }),
            ...(status && { status }),
          },
        );
        return ok({ members, total, count: members.length, offset });
      },
      {
        access: true,
        query: t.Object({
          ...TEAM_REF,
          ...PAGE_QUERY,
          username: t.Optional(t.String()),
          name: t.Optional(t.String()),
          status: t.Optional(t.Union([t.String(), t.Array(t.String())])),
        }),
        detail: { summary: "A page of a team's members with their team roles", tags: TAGS },
      },
    )
    .get(
      "/teams.autocomplete",
      async ({ me, query }) => ok({ teams: await autocompleteTeams(services, me, query.name) }),
      {
        access: true,
        query: t.Object({ name: t.String() }),
        detail: { summary: "Teams whose name starts with `name`", tags: TAGS },
      },
    );
}

/** The routes that change a team or end it. */
function teamChanges(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/teams.update",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await requireInTeam(services, me, team.roomId, ["edit-team"]);
        const room = await services.rooms.byId(team.roomId);
        if (!room) throw failure("Room not found");
        const { name, type } = body.data;
        await saveSettings(services, room, me, {
          ...(name !== undefined && { roomName: name }),
          ...(type !== undefined && { roomType: type === 1 ? "p" : "c" }),
        });
        return ok();
      },
      {
        access: true,
        body: t.Object({
          ...TEAM_REF,
          data: t.Object({
            name: t.Optional(t.String()),
            type: t.Optional(t.Union([t.Literal(0), t.Literal(1)])),
          }),
        }),
        detail: { summary: "Rename a team or change its type (permission edit-team)", tags: TAGS },
      },
    )
    .post(
      "/teams.delete",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await requireInTeam(services, me, team.roomId, ["delete-team"]);
        await endTeam(services, me, team, body.roomsToRemove ?? [], false);
        return ok();
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, roomsToRemove: t.Optional(t.Array(t.String())) }),
        detail: {
          summary: "Delete a team, its main room and the rooms in roomsToRemove",
          tags: TAGS,
        },
      },
    )
    .post(
      "/teams.convertToChannel",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await requireInTeam(services, me, team.roomId, ["convert-team"]);
        await endTeam(services, me, team, body.roomsToRemove ?? [], true);
        return ok();
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, roomsToRemove: t.Optional(t.Array(t.String())) }),
        detail: {
          summary: "Turn a team back into a plain room (permission convert-team)",
          tags: TAGS,
        },
      },
    );
}

/** The routes of a team's members. */
function teamMemberRoutes(services: Services, log: Logger) {
  const { db } = services.deps;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/teams.addMembers",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await requireInTeam(services, me, team.roomId, ["add-team-member", "edit-team-member"]);
        await addTeamMembers(services, me, team, body.members);
        return ok();
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, members: t.Array(MEMBER, { minItems: 1 }) }),
        detail: { summary: "Add members to a team, with their team roles", tags: TAGS },
      },
    )
    .post(
      "/teams.updateMember",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await requireInTeam(services, me, team.roomId, ["edit-team-member"]);
        await updateTeamMember(services, team, body.member);
        return ok();
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, member: MEMBER }),
        detail: { summary: "Set a member's team roles", tags: TAGS },
      },
    )
    .post(
      "/teams.removeMember",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await requireInTeam(services, me, team.roomId, ["edit-team-member"]);
        const user = await db.users.findOne({ _id: body.userId, active: true });
        if (!user) throw failure("invalid-user");
        await removeTeamMember(services, me, team, user, body.rooms ?? []);
        return ok();
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, userId: t.String(), rooms: ROOM_LIST }),
        detail: {
          summary: "Remove a member from a team, and from the team rooms in `rooms`",
          tags: TAGS,
        },
      },
    )
    .post(
      "/teams.leave",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await removeTeamMember(services, me, team, me, body.rooms ?? []);
        return ok();
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, rooms: ROOM_LIST }),
        detail: { summary: "Leave a team, and the team rooms in `rooms`", tags: TAGS },
      },
    );
}

/** The routes of a team's rooms. */
function teamRoomRoutes(services: Services, log: Logger) {
  const { authz } = services;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/teams.addRooms",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        if (!(await authz.can(me, "move-room-to-team", team.roomId))) {
          throw new ClientError("forbidden", "error-no-permission-team-channel", {
            status: 403,
            plain: true,
          });
        }
        return ok({ rooms: await addTeamRooms(services, me, team, body.rooms) });
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, rooms: t.Array(t.String()) }),
        detail: {
          summary: "Move rooms the caller owns into a team (permission move-room-to-team)",
          tags: TAGS,
        },
      },
    )
    .post(
      "/teams.removeRoom",
      async ({ me, body }) => {
        requireRef(body);
        const team = await requireTeam(services, body);
        await requireInTeam(services, me, team.roomId, ["remove-team-channel"]);
        const canRemoveAny = await authz.can(me, "view-all-team-channels", team.roomId);
        const room = await removeTeamRoom(services, me, team, body.roomId, canRemoveAny);
        return ok({ room });
      },
      {
        access: true,
        body: t.Object({ ...TEAM_REF, roomId: t.String() }),
        detail: { summary: "Move a room out of its team", tags: TAGS },
      },
    )
    .post(
      "/teams.updateRoom",
      async ({ me, body }) => {
        const team = await teamOfRoom(services, body.roomId);
        await requireInTeam(services, me, team.roomId, ["edit-team-channel"]);
        const canUpdateAny = await authz.can(me, "view-all-team-channels", team.roomId);
        const room = await updateTeamRoom(
          services,
          me,
          team,
          body.roomId,
          body.isDefault,
          canUpdateAny,
        );
        return ok({ room });
      },
      {
        access: true,
        body: t.Object({ roomId: t.String(), isDefault: t.Boolean() }),
        detail: {
          summary: "Make a team room auto-join for the team's members, or not",
          tags: TAGS,
        },
      },
    )
    .get(
      "/teams.listChildren",
      async ({ me, query }) => {
        // Exactly one way to name the team, and a known kind, or ajv's refusal.
        const refs = [query.teamId, query.teamName, query.roomId].filter((r) => r !== undefined);
        const kind = query.type;
        if (
          refs.length !== 1 ||
          (kind !== undefined && kind !== "channels" && kind !== "discussions")
        )
          throw invalidParams("must match exactly one schema in oneOf");
        const team = query.roomId
          ? await teamOfRoom(services, query.roomId)
          : query.teamId || query.teamName
            ? await findTeam(services, query)
            : null;
        if (!team)
          throw new ClientError("not-found", "Resource not found", { status: 404, plain: true });
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        const { data, total } = await listTeamChildren(
          services,
          me,
          team,
          { ...(query.filter && { name: query.filter }), ...(kind && { kind }) },
          { offset, count, ...(sort && { sort }) },
        );
        return ok({ total, data, offset, count });
      },
      {
        access: true,
        query: t.Object({
          ...TEAM_REF,
          roomId: t.Optional(t.String()),
          ...PAGE_QUERY,
          filter: t.Optional(t.String()),
          type: t.Optional(t.String()),
        }),
        detail: {
          summary: "A page of the rooms and main-room discussions of a team the caller can open",
          tags: TAGS,
        },
      },
    )
    .get(
      "/teams.listRooms",
      async ({ me, query }) => {
        requireRef(query);
        const { count, offset } = pagination(services, query);
        const team = await requireTeam(services, query);
        const filter = {
          ...(query.filter && { name: query.filter }),
          isDefault: query.type === "autoJoin",
          getAllRooms: await authz.can(me, "view-all-team-channels", team.roomId),
          allowPrivateTeam: await authz.can(me, "view-all-teams", team.roomId),
        };
        const { rooms, total } = await listTeamRooms(services, me, team, filter, {
          offset,
          count,
        });
        return ok({ rooms, total, count: rooms.length, offset });
      },
      {
        access: true,
        query: t.Object({
          ...TEAM_REF,
          ...PAGE_QUERY,
          filter: t.Optional(t.String()),
          type: t.Optional(t.String()),
        }),
        detail: {
          summary: "A page of a team's rooms (`type=autoJoin`: auto-join only)",
          tags: TAGS,
        },
      },
    )
    .get(
      "/teams.listRoomsOfUser",
      async ({ me, query }) => {
        requireRef(query);
        const { count, offset } = pagination(services, query);
        const team = await requireTeam(services, query);
        const allowPrivateTeam = await authz.can(me, "view-all-teams", team.roomId);
        const mayList =
          me._id === query.userId || (await authz.can(me, "view-all-team-channels", team.roomId));
        if (!mayList) throw forbidden();
        const { rooms, total } = await listTeamRoomsOfUser(
          services,
          me,
          team,
          query.userId,
          allowPrivateTeam,
          query.canUserDelete === "true",
          { offset, count },
        );
        return ok({ rooms, total, count: rooms.length, offset: 0 });
      },
      {
        access: true,
        query: t.Object({
          ...TEAM_REF,
          ...PAGE_QUERY,
          userId: t.String(),
          canUserDelete: t.Optional(t.String()),
        }),
        detail: { summary: "The team rooms a user is in, with isLastOwner", tags: TAGS },
      },
    );
}

/** `channels.convertToTeam`, `groups.convertToTeam` and `users.listTeams`. */
function conversions(services: Services, log: Logger) {
  const { authz } = services;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/channels.convertToTeam",
      async ({ me, body }) => {
        if (!body.channelId && !body.channelName) {
          throw failure('The parameter "channelId" or "channelName" is required');
        }
        const room = await services.rooms.findChannel(
          body.channelId ? { roomId: body.channelId } : { roomName: body.channelName as string },
        );
        const allowed =
          (await authz.can(me, "create-team", room._id)) &&
          (await authz.can(me, "edit-room", room._id));
        if (!allowed) throw forbidden();
        return ok({ team: await convertRoomToTeam(services, me, room) });
      },
      {
        access: true,
        body: t.Object({
          channelId: t.Optional(t.String()),
          channelName: t.Optional(t.String()),
        }),
        detail: {
          summary: "Turn a channel into a team (permissions create-team and edit-room)",
          tags: ["Channels"],
        },
      },
    )
    .get(
      "/users.listTeams",
      async ({ me, query }) => {
        const seesAll = await authz.can(me, "view-all-teams");
        const teams = await teamsOfUser(services, query.userId, seesAll ? undefined : me._id);
        return ok({ teams });
      },
      {
        access: true,
        query: t.Object({ userId: t.String() }),
        detail: {
          summary: "The teams a user belongs to, as the caller may see them",
          tags: ["Users"],
        },
      },
    )
    .post(
      "/groups.convertToTeam",
      async ({ me, body }) => {
        if (!body.roomId && !body.roomName) {
          throw failure('The parameter "roomId" or "roomName" is required');
        }
        const room = await services.rooms.findGroup(body, me);
        const allowed =
          (await authz.can(me, "create-team", room._id)) &&
          (await authz.can(me, "edit-room", room._id));
        if (!allowed) throw forbidden();
        return ok({ team: await convertRoomToTeam(services, me, room) });
      },
      {
        access: true,
        body: t.Object({ roomId: t.Optional(t.String()), roomName: t.Optional(t.String()) }),
        detail: {
          summary: "Turn a private group into a team (permissions create-team and edit-room)",
          tags: ["Groups"],
        },
      },
    );
}

/** The team routes. */
export function teamsRoutes(services: Services, log: Logger) {
  return new Elysia()
    .use(teamReads(services, log))
    .use(teamChanges(services, log))
    .use(teamMemberRoutes(services, log))
    .use(teamRoomRoutes(services, log))
    .use(conversions(services, log));
}
