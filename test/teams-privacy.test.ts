/**
 * What teams refuse and hide, over real HTTP: a private team and its rooms are invisible
 * to outsiders through every route that lists, finds or opens rooms, while its members
 * see them; the team routes refuse callers without the team permissions with
 * Rocket.Chat's answers; and a channel or group becomes a team and back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

let server: TestServer;
let tag: string;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;

function post(who: TestUser | Credentials, path: string, body: Record<string, unknown>) {
  const auth = "credentials" in who ? who.credentials : who;
  return api(server, path, { auth, body });
}

function get(who: TestUser, path: string, query: Record<string, string>) {
  return api(server, path, { auth: who.credentials, query });
}

beforeAll(async () => {
  server = await startTestServer();
  tag = `tp${crypto.randomUUID().slice(0, 6)}`;
  owner = await createUser(server, { username: `${tag}.owner` });
  member = await createUser(server, { username: `${tag}.member` });
  outsider = await createUser(server, { username: `${tag}.outsider` });
});

afterAll(async () => {
  await server.stop();
});

describe("a private team", () => {
  let team: { _id: string; name: string; roomId: string };
  let hall: { _id: string; name: string };

  beforeAll(async () => {
    const created = await post(owner, "teams.create", {
      name: `${tag}-secret`,
      type: 1,
      members: [member.user._id],
    });
    team = created.body.team;
    hall = (await post(owner, "channels.create", { name: `${tag}-hall` })).body.channel;
    const added = await post(owner, "teams.addRooms", { teamId: team._id, rooms: [hall._id] });
    expect(added.status).toBe(200);
  });

  test("its main room is a private group of its members", async () => {
    const info = await get(member, "groups.info", { roomId: team.roomId });

    expect(info.body.group).toMatchObject({ t: "p", teamMain: true, teamId: team._id });
  });

  test("an outsider cannot read the team, its rooms or its members", async () => {
    const info = await get(outsider, "teams.info", { teamId: team._id });
    const channel = await get(outsider, "channels.info", { roomId: hall._id });
    const messages = await get(outsider, "channels.messages", { roomId: hall._id });
    const rooms = await get(outsider, "teams.listRooms", { teamId: team._id });
    const members = await get(outsider, "teams.members", { teamId: team._id });
    const main = await get(outsider, "rooms.info", { roomId: team.roomId });

    expect(info.status).toBe(403);
    expect(info.body).toEqual({ success: false, error: "unauthorized" });
    expect(channel.status).toBe(403);
    expect(messages.status).toBe(403);
    expect(rooms.status).toBe(400);
    expect(rooms.body).toEqual({ success: false, error: "user-not-on-private-team" });
    expect(members.body).toEqual({ success: true, members: [], total: 0, count: 0, offset: 0 });
    expect(main.body.success).toBe(false);
  });

  test("an outsider cannot join a channel of the team", async () => {
    const join = await post(outsider, "channels.join", { roomId: hall._id });
    const method = await post(outsider, "method.call/joinRoom", {
      message: JSON.stringify({ msg: "method", id: "1", method: "joinRoom", params: [hall._id] }),
    });

    expect(join.status).toBe(400);
    expect(join.body.errorType).toBe("error-not-allowed");
    expect(JSON.parse(method.body.message).error.error).toBe("error-not-allowed");
  });

  test("listings and searches show the team's rooms to members only", async () => {
    const seen = async (who: TestUser) => {
      const list = await get(who, "channels.list", { count: "0" });
      const directory = await get(who, "directory", { type: "channels", text: tag });
      const teams = await get(who, "directory", { type: "teams", text: tag });
      const auto = await get(who, "teams.autocomplete", { name: tag });
      const mine = await get(who, "users.listTeams", { userId: member.user._id });
      return {
        list: (list.body.channels as { _id: string }[]).some((c) => c._id === hall._id),
        directory: (directory.body.result as { _id: string }[]).map((r) => r._id),
        teams: (teams.body.result as { _id: string }[]).map((r) => r._id),
        autocomplete: (auto.body.teams as { _id: string }[]).map((r) => r._id),
        listTeams: (mine.body.teams as { _id: string }[]).map((r) => r._id),
      };
    };

    expect(await seen(outsider)).toEqual({
      list: false,
      directory: [],
      teams: [],
      autocomplete: [],
      listTeams: [],
    });
    expect(await seen(member)).toEqual({
      list: true,
      directory: [hall._id],
      teams: [team.roomId],
      autocomplete: [team.roomId],
      listTeams: [team._id],
    });
  });

  test("spotlight never offers the team or its rooms", async () => {
    const res = await get(outsider, "spotlight", { query: `#${tag}` });

    expect(res.body.rooms).toEqual([]);
  });

  test("turning the team public opens its channel to everyone", async () => {
    const update = await post(owner, "teams.update", { teamId: team._id, data: { type: 0 } });

    expect(update.body).toEqual({ success: true });
    const info = await get(outsider, "teams.info", { teamId: team._id });
    expect(info.body.teamInfo.type).toBe(0);
    const channel = await get(outsider, "channels.info", { roomId: hall._id });
    expect(channel.body.channel._id).toBe(hall._id);
  });
});

describe("refusals", () => {
  test("creating a team needs create-team", async () => {
    await post(server.admin, "permissions.update", {
      permissions: [{ _id: "create-team", roles: ["admin"] }],
    });
    const res = await post(outsider, "teams.create", { name: `${tag}-nope`, type: 0 });
    await post(server.admin, "permissions.update", {
      permissions: [{ _id: "create-team", roles: ["admin", "user"] }],
    });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("a team name is taken once, and a name no room may have creates nothing", async () => {
    const first = await post(owner, "teams.create", { name: `${tag}-dup`, type: 0 });
    const again = await post(owner, "teams.create", { name: `${tag}-dup`, type: 0 });
    const invalid = await post(owner, "teams.create", { name: "invalid*team*name", type: 0 });

    expect(first.status).toBe(200);
    expect(again.body).toEqual({ success: false, error: "team-name-already-exists" });
    expect(invalid.body).toEqual({ success: false, error: "error-team-creation" });
    const info = await get(owner, "teams.info", { teamName: "invalid*team*name" });
    expect(info.body).toEqual({ success: false, error: "Team not found" });
    const members = await get(owner, "teams.members", { teamName: "invalid*team*name" });
    expect(members.body).toEqual({ success: false, error: "team-does-not-exist" });
  });

  test("moving rooms into a team needs the permission, access to the room and its ownership", async () => {
    const team = (await post(owner, "teams.create", { name: `${tag}-rooms`, type: 0 })).body.team;
    await post(owner, "teams.addMembers", {
      teamId: team._id,
      members: [{ userId: member.user._id, roles: ["moderator"] }],
    });
    const foreign = (await post(outsider, "groups.create", { name: `${tag}-foreign` })).body.group;
    const shared = (await post(outsider, "channels.create", { name: `${tag}-shared` })).body
      .channel;
    await post(member, "channels.join", { roomId: shared._id });

    const noPermission = await post(outsider, "teams.addRooms", {
      teamId: team._id,
      rooms: [shared._id],
    });
    const unreadable = await post(member, "teams.addRooms", {
      teamId: team._id,
      rooms: [foreign._id],
    });
    const notOwner = await post(member, "teams.addRooms", {
      teamId: team._id,
      rooms: [shared._id],
    });

    expect(noPermission.status).toBe(403);
    expect(noPermission.body).toEqual({
      success: false,
      error: "error-no-permission-team-channel",
    });
    expect(unreadable.body).toEqual({ success: false, error: "invalid-room" });
    expect(notOwner.body).toEqual({ success: false, error: "error-no-owner-channel" });
  });

  test("making an existing room a team needs access to it and edit-room in it", async () => {
    const group = (await post(owner, "groups.create", { name: `${tag}-kept` })).body.group;
    const channel = (await post(owner, "channels.create", { name: `${tag}-open` })).body.channel;

    const hidden = await post(outsider, "teams.create", {
      name: `${tag}-kept`,
      type: 1,
      room: { id: group._id },
    });
    const notEditor = await post(outsider, "teams.create", {
      name: `${tag}-open`,
      type: 0,
      room: { id: channel._id },
    });

    expect(hidden.body).toEqual({ success: false, error: "invalid-room" });
    expect(notEditor.status).toBe(403);
    expect(notEditor.body).toEqual({ success: false, error: "unauthorized" });
    const info = await get(owner, "groups.info", { roomId: group._id });
    expect(info.body.group).not.toHaveProperty("teamId");
  });

  test("only holders of view-all-teams list every team", async () => {
    const asUser = await get(outsider, "teams.listAll", {});
    const asAdmin = await api(server, "teams.listAll", { auth: server.admin });

    expect(asUser.status).toBe(403);
    expect(asUser.body).toEqual({ success: false, error: "unauthorized" });
    expect(asAdmin.body.total).toBeGreaterThan(0);
    expect(asAdmin.body.teams.map((t: { name: string }) => t.name)).toContain(`${tag}-dup`);
  });

  test("a member list to remove from must name at least one room", async () => {
    const team = (await post(owner, "teams.create", { name: `${tag}-empty`, type: 0 })).body.team;

    const res = await post(owner, "teams.removeMember", {
      teamId: team._id,
      userId: owner.user._id,
      rooms: [],
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });

  test("a team that does not exist is named as such", async () => {
    const res = await post(owner, "teams.addMembers", {
      teamName: `${tag}-missing`,
      members: [{ userId: member.user._id }],
    });

    expect(res.body).toEqual({ success: false, error: "team-does-not-exist" });
  });
});

describe("conversions", () => {
  test("a channel becomes a team of its members and back", async () => {
    const channel = (
      await post(owner, "channels.create", {
        name: `${tag}-convert`,
        members: [member.user.username],
      })
    ).body.channel;

    const converted = await post(owner, "channels.convertToTeam", { channelId: channel._id });
    const again = await post(owner, "channels.convertToTeam", { channelId: channel._id });

    expect(converted.body.team).toMatchObject({
      name: `${tag}-convert`,
      type: 0,
      roomId: channel._id,
    });
    expect(again.body).toEqual({ success: false, error: "team-name-already-exists" });
    const teamId = converted.body.team._id;
    const members = await get(member, "teams.members", { teamId });
    expect(members.body.total).toBe(2);
    const info = await get(member, "channels.info", { roomId: channel._id });
    expect(info.body.channel).toMatchObject({ teamMain: true, teamId });
    const notice = await get(owner, "channels.messages", { roomId: channel._id });
    expect(notice.body.messages[0]).toMatchObject({
      t: "user-converted-to-team",
      msg: `${tag}-convert`,
    });

    const back = await post(owner, "teams.convertToChannel", { teamId });

    expect(back.body).toEqual({ success: true });
    const after = await get(member, "channels.info", { roomId: channel._id });
    expect(after.body.channel).not.toHaveProperty("teamId");
    expect(after.body.channel).not.toHaveProperty("teamMain");
    expect(after.body.channel.usersCount).toBe(2);
    const gone = await get(owner, "teams.info", { teamId });
    expect(gone.body).toEqual({ success: false, error: "Team not found" });
  });

  test("a group becomes a private team; a non-member cannot convert it", async () => {
    const group = (await post(owner, "groups.create", { name: `${tag}-convgrp` })).body.group;

    const foreign = await post(outsider, "groups.convertToTeam", { roomId: group._id });
    const res = await post(owner, "groups.convertToTeam", { roomId: group._id });

    expect(foreign.body.errorType).toBe("error-room-not-found");
    expect(res.body.team).toMatchObject({ name: `${tag}-convgrp`, type: 1, roomId: group._id });
  });

  test("converting needs edit-room in the channel", async () => {
    const channel = (await post(owner, "channels.create", { name: `${tag}-notmine` })).body.channel;
    await post(member, "channels.join", { roomId: channel._id });

    const res = await post(member, "channels.convertToTeam", { channelId: channel._id });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });
});
