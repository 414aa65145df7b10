/**
 * Teams end to end over real HTTP: one team's whole life with three users (creation,
 * members, rooms, auto-join, roles, the last-owner rule, removal, deletion), checking at
 * every step what each user is a member of and what they see.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

let server: TestServer;
let tag: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  tag = `tm${crypto.randomUUID().slice(0, 6)}`;
  alice = await createUser(server, { username: `${tag}.alice` });
  bob = await createUser(server, { username: `${tag}.bob` });
  carol = await createUser(server, { username: `${tag}.carol` });
});

afterAll(async () => {
  await server.stop();
});

/** The ids of the rooms `who` is subscribed to. */
async function roomsOf(who: TestUser): Promise<string[]> {
  const res = await api(server, "subscriptions.get", { auth: who.credentials });
  return (res.body.update as { rid: string }[]).map((s) => s.rid).sort();
}

/** The members of team `teamId` as `who` sees them: username and roles, by username. */
async function membersOf(who: TestUser, teamId: string) {
  const res = await api(server, "teams.members", { auth: who.credentials, query: { teamId } });
  expect(res.status).toBe(200);
  return (res.body.members as { user: { username: string }; roles?: string[] }[])
    .map((m) => ({ username: m.user.username, roles: m.roles ?? [] }))
    .sort((a, b) => a.username.localeCompare(b.username));
}

function post(who: TestUser, path: string, body: Record<string, unknown>) {
  return api(server, path, { auth: who.credentials, body });
}

describe("a team's life with three users", () => {
  let team: { _id: string; name: string; roomId: string; type: number };
  let lobby: { _id: string };
  let backstage: { _id: string };

  test("creating a team with a member makes both members of the team and of its main room", async () => {
    const res = await post(alice, "teams.create", {
      name: `${tag}-crew`,
      type: 0,
      members: [bob.user.username],
    });

    expect(res.status).toBe(200);
    expect(res.body.team).toEqual({
      _id: expect.any(String),
      name: `${tag}-crew`,
      type: 0,
      roomId: expect.any(String),
      createdBy: { _id: alice.user._id, username: alice.user.username },
      createdAt: expect.any(String),
      _updatedAt: expect.any(String),
    });
    team = res.body.team;
    expect(await membersOf(alice, team._id)).toEqual([
      { username: alice.user.username, roles: ["owner"] },
      { username: bob.user.username, roles: [] },
    ]);
    expect(await roomsOf(bob)).toContain(team.roomId);
    expect(await roomsOf(carol)).not.toContain(team.roomId);
    const info = await api(server, "channels.info", {
      auth: carol.credentials,
      query: { roomId: team.roomId },
    });
    expect(info.body.channel).toMatchObject({ teamMain: true, teamId: team._id, usersCount: 2 });
  });

  test("teams.info and teams.list describe the team", async () => {
    const info = await api(server, "teams.info", {
      auth: carol.credentials,
      query: { teamName: team.name },
    });
    const bobs = await api(server, "teams.list", { auth: bob.credentials });
    const carols = await api(server, "teams.list", { auth: carol.credentials });

    expect(info.body).toEqual({ success: true, teamInfo: team });
    expect(bobs.body).toEqual({
      success: true,
      teams: [{ ...team, rooms: 1, numberOfUsers: 2 }],
      total: 1,
      count: 1,
      offset: 0,
    });
    expect(carols.body).toEqual({ success: true, teams: [], total: 0, count: 0, offset: 0 });
  });

  test("the owner moves a channel and a group into the team", async () => {
    lobby = (await post(alice, "channels.create", { name: `${tag}-lobby` })).body.channel;
    backstage = (await post(alice, "groups.create", { name: `${tag}-backstage` })).body.group;

    const res = await post(alice, "teams.addRooms", {
      teamId: team._id,
      rooms: [lobby._id, backstage._id],
    });

    expect(res.status).toBe(200);
    const rooms = res.body.rooms as { _id: string; teamId: string; teamDefault?: boolean }[];
    expect(rooms.map((r) => [r._id, r.teamId, r.teamDefault])).toEqual([
      [lobby._id, team._id, undefined],
      [backstage._id, team._id, undefined],
    ]);
    const main = await api(server, "channels.messages", {
      auth: alice.credentials,
      query: { roomId: team.roomId },
    });
    expect(main.body.messages[0]).toMatchObject({
      t: "user-added-room-to-team",
      msg: `${tag}-lobby`,
    });
  });

  test("making a team room auto-join adds the team's members to it", async () => {
    const res = await post(alice, "teams.updateRoom", { roomId: lobby._id, isDefault: true });

    expect(res.status).toBe(200);
    expect(res.body.room).toMatchObject({
      _id: lobby._id,
      teamId: team._id,
      teamDefault: true,
      usersCount: 2,
    });
    expect(await roomsOf(bob)).toContain(lobby._id);
    expect(await roomsOf(bob)).not.toContain(backstage._id);
  });

  test("a new member joins the main room and the auto-join rooms, not the others", async () => {
    const res = await post(alice, "teams.addMembers", {
      teamId: team._id,
      members: [{ userId: carol.user._id, roles: ["member"] }],
    });

    expect(res.body).toEqual({ success: true });
    expect(await roomsOf(carol)).toEqual(["GENERAL", team.roomId, lobby._id].sort());
    expect(await membersOf(carol, team._id)).toEqual([
      { username: alice.user.username, roles: ["owner"] },
      { username: bob.user.username, roles: [] },
      { username: carol.user.username, roles: ["member"] },
    ]);
  });

  test("team rooms are listed by what each member may see", async () => {
    const asCarol = await api(server, "teams.listRooms", {
      auth: carol.credentials,
      query: { teamId: team._id },
    });
    const asAlice = await api(server, "teams.listRooms", {
      auth: alice.credentials,
      query: { teamId: team._id },
    });
    const autoJoin = await api(server, "teams.listRooms", {
      auth: alice.credentials,
      query: { teamId: team._id, type: "autoJoin" },
    });

    const ids = (res: { body: { rooms: { _id: string }[] } }) => res.body.rooms.map((r) => r._id);
    expect(ids(asCarol)).toEqual([lobby._id]);
    expect(ids(asAlice).sort()).toEqual([lobby._id, backstage._id].sort());
    expect(ids(autoJoin)).toEqual([lobby._id]);
    expect(asCarol.body).toMatchObject({ total: 1, count: 1, offset: 0, success: true });
  });

  test("the team rooms a member is in say whether they are its last owner", async () => {
    const own = await api(server, "teams.listRoomsOfUser", {
      auth: alice.credentials,
      query: { teamId: team._id, userId: alice.user._id },
    });
    const others = await api(server, "teams.listRoomsOfUser", {
      auth: carol.credentials,
      query: { teamId: team._id, userId: alice.user._id },
    });

    const rows = (own.body.rooms as { _id: string; isLastOwner: boolean }[])
      .map((r) => [r._id, r.isLastOwner])
      .sort();
    expect(rows).toEqual(
      [
        [team.roomId, true],
        [lobby._id, true],
        [backstage._id, true],
      ].sort(),
    );
    expect(own.body).toMatchObject({ total: 3, count: 3, offset: 0 });
    expect(others.status).toBe(403);
  });

  test("a member who is neither owner nor moderator cannot change the team", async () => {
    const update = await post(carol, "teams.update", {
      teamId: team._id,
      data: { name: "taken-over" },
    });
    const remove = await post(carol, "teams.removeMember", {
      teamId: team._id,
      userId: bob.user._id,
    });
    const del = await post(carol, "teams.delete", { teamId: team._id });

    for (const res of [update, remove, del]) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ success: false, error: "unauthorized" });
    }
  });

  test("removing a member takes them out of the team and of the team rooms named", async () => {
    const res = await post(alice, "teams.removeMember", {
      teamId: team._id,
      userId: carol.user._id,
      rooms: [lobby._id],
    });

    expect(res.body).toEqual({ success: true });
    expect(await roomsOf(carol)).toEqual(["GENERAL"]);
    expect((await membersOf(alice, team._id)).map((m) => m.username)).toEqual([
      alice.user.username,
      bob.user.username,
    ]);
  });

  test("the last owner can neither leave nor be removed", async () => {
    const leave = await post(alice, "teams.leave", { teamId: team._id });
    const remove = await post(alice, "teams.removeMember", {
      teamId: team._id,
      userId: alice.user._id,
    });

    for (const res of [leave, remove]) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ success: false, error: "last-owner-can-not-be-removed" });
    }
    expect(await roomsOf(alice)).toContain(team.roomId);
  });

  test("once another member is owner, the former owner may leave", async () => {
    const promote = await post(alice, "teams.updateMember", {
      teamId: team._id,
      member: { userId: bob.user._id, roles: ["owner"] },
    });
    const leave = await post(alice, "teams.leave", { teamId: team._id, rooms: [lobby._id] });

    expect(promote.body).toEqual({ success: true });
    expect(leave.body).toEqual({ success: true });
    expect(await membersOf(bob, team._id)).toEqual([
      { username: bob.user.username, roles: ["owner"] },
    ]);
    const mine = await roomsOf(alice);
    expect(mine).not.toContain(team.roomId);
    expect(mine).not.toContain(lobby._id);
    expect(mine).toContain(backstage._id);
  });

  test("renaming a team renames its main room", async () => {
    const res = await post(bob, "teams.update", {
      teamId: team._id,
      data: { name: `${tag}-renamed` },
    });

    expect(res.body).toEqual({ success: true });
    const info = await api(server, "teams.info", {
      auth: bob.credentials,
      query: { teamId: team._id },
    });
    expect(info.body.teamInfo.name).toBe(`${tag}-renamed`);
    const room = await api(server, "channels.info", {
      auth: bob.credentials,
      query: { roomId: team.roomId },
    });
    expect(room.body.channel.name).toBe(`${tag}-renamed`);
  });

  test("deleting the team deletes its main room and the rooms named, and frees the others", async () => {
    const res = await post(bob, "teams.delete", {
      teamId: team._id,
      roomsToRemove: [backstage._id],
    });

    expect(res.body).toEqual({ success: true });
    const info = await api(server, "teams.info", {
      auth: bob.credentials,
      query: { teamId: team._id },
    });
    expect(info.status).toBe(400);
    expect(info.body).toEqual({ success: false, error: "Team not found" });
    const main = await api(server, "channels.info", {
      auth: bob.credentials,
      query: { roomId: team.roomId },
    });
    expect(main.body.errorType).toBe("error-room-not-found");
    expect(await roomsOf(alice)).not.toContain(backstage._id);
    const freed = await api(server, "channels.info", {
      auth: bob.credentials,
      query: { roomId: lobby._id },
    });
    expect(freed.body.channel._id).toBe(lobby._id);
    expect(freed.body.channel).not.toHaveProperty("teamId");
    expect(freed.body.channel).not.toHaveProperty("teamDefault");
    expect((await api(server, "teams.list", { auth: bob.credentials })).body.total).toBe(0);
  });
});

describe("the main room is the team", () => {
  test("joining a public team's main room makes a member, who joins the auto-join rooms", async () => {
    const team = (await post(alice, "teams.create", { name: `${tag}-open`, type: 0 })).body.team;
    const hall = (await post(alice, "channels.create", { name: `${tag}-hall` })).body.channel;
    await post(alice, "teams.addRooms", { teamId: team._id, rooms: [hall._id] });
    await post(alice, "teams.updateRoom", { roomId: hall._id, isDefault: true });

    const join = await post(carol, "channels.join", { roomId: team.roomId });

    expect(join.status).toBe(200);
    expect(await roomsOf(carol)).toContain(hall._id);
    expect((await membersOf(alice, team._id)).map((m) => m.username)).toContain(
      carol.user.username,
    );

    const leave = await post(carol, "channels.leave", { roomId: team.roomId });

    expect(leave.status).toBe(200);
    expect((await membersOf(alice, team._id)).map((m) => m.username)).toEqual([
      alice.user.username,
    ]);
    expect(await roomsOf(carol)).toContain(hall._id);
  });

  test("making a member an owner of the main room makes them an owner of the team", async () => {
    const team = (
      await post(alice, "teams.create", { name: `${tag}-roles`, type: 0, members: [bob.user._id] })
    ).body.team;

    const add = await post(alice, "channels.addOwner", {
      roomId: team.roomId,
      userId: bob.user._id,
    });

    expect(add.body.success).toBe(true);
    expect(await membersOf(alice, team._id)).toEqual([
      { username: alice.user.username, roles: ["owner"] },
      { username: bob.user.username, roles: ["owner"] },
    ]);
    const remove = await post(bob, "channels.removeOwner", {
      roomId: team.roomId,
      userId: alice.user._id,
    });
    expect(remove.body.success).toBe(true);
    expect(await membersOf(bob, team._id)).toEqual([
      { username: alice.user.username, roles: [] },
      { username: bob.user.username, roles: ["owner"] },
    ]);
  });

  test("deleting a team's main room ends the team and frees its rooms", async () => {
    const team = (await post(alice, "teams.create", { name: `${tag}-short`, type: 0 })).body.team;
    const side = (await post(alice, "channels.create", { name: `${tag}-side` })).body.channel;
    await post(alice, "teams.addRooms", { teamId: team._id, rooms: [side._id] });

    const res = await post(alice, "channels.delete", { roomId: team.roomId });

    expect(res.body).toEqual({ success: true });
    const info = await api(server, "teams.info", {
      auth: alice.credentials,
      query: { teamId: team._id },
    });
    expect(info.body).toEqual({ success: false, error: "Team not found" });
    const freed = await api(server, "channels.info", {
      auth: alice.credentials,
      query: { roomId: side._id },
    });
    expect(freed.body.channel).not.toHaveProperty("teamId");
  });
});

describe("auto-join", () => {
  test("turning auto-join on adds at most API_User_Limit members", async () => {
    const team = (
      await post(alice, "teams.create", {
        name: `${tag}-limited`,
        type: 0,
        members: [bob.user._id, carol.user._id],
      })
    ).body.team;
    const room = (await post(alice, "channels.create", { name: `${tag}-limited-room` })).body
      .channel;
    await post(alice, "teams.addRooms", { teamId: team._id, rooms: [room._id] });
    const limit = (value: number) =>
      api(server, "settings/API_User_Limit", { auth: server.admin, body: { value } });

    expect((await limit(1)).status).toBe(200);
    const res = await post(alice, "teams.updateRoom", { roomId: room._id, isDefault: true });
    await limit(500);

    expect(res.body.room).toMatchObject({ teamDefault: true, usersCount: 2 });
  });
});
