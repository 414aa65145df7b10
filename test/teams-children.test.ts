/**
 * teams.listChildren over real HTTP: what each member of a team can open inside it (its
 * rooms, the main room included, and the discussions of the main room), filtered,
 * paged and sorted, and the refusals for a missing team, a bad query and a non-member.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let admin: Credentials;
let member: { user: { _id: string; username: string }; credentials: Credentials };
const tag = `kids${crypto.randomUUID().slice(0, 6)}`;
let team: { _id: string; name: string; roomId: string };
let privateTeam: { _id: string; roomId: string };
const ids = {} as {
  adminGroup: string;
  memberGroup: string;
  channel: string;
  channel2: string;
  onGroup: string;
  onChannel: string;
  onMain: string;
};

async function created(path: string, auth: Credentials, body: Record<string, unknown>) {
  const res = await api(server, path, { auth, body });
  if (res.status !== 200) throw new Error(`${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  member = await createUser(server, { username: `${tag}.member` });
  team = (
    await created("teams.create", admin, {
      name: `${tag}-team`,
      type: 0,
      members: [member.user.username],
    })
  ).team;
  privateTeam = (await created("teams.create", member.credentials, { name: `${tag}-own`, type: 1 }))
    .team;
  ids.adminGroup = (await created("groups.create", admin, { name: `${tag}-p-admin` })).group._id;
  ids.memberGroup = (
    await created("groups.create", member.credentials, { name: `${tag}-p-member` })
  ).group._id;
  ids.channel = (await created("channels.create", admin, { name: `${tag}-c-one` })).channel._id;
  ids.channel2 = (await created("channels.create", admin, { name: `${tag}-c-two` })).channel._id;
  await created("teams.updateMember", admin, {
    teamId: team._id,
    member: { userId: member.user._id, roles: ["member", "owner"] },
  });
  await created("teams.addRooms", admin, {
    teamId: team._id,
    rooms: [ids.adminGroup, ids.channel, ids.channel2],
  });
  await created("teams.addRooms", member.credentials, {
    teamId: team._id,
    rooms: [ids.memberGroup],
  });
  const discussion = async (prid: string, name: string) =>
    (await created("rooms.createDiscussion", admin, { prid, t_name: `${tag}-${name}` })).discussion
      ._id as string;
  ids.onGroup = await discussion(ids.adminGroup, "d-group");
  ids.onChannel = await discussion(ids.channel, "d-channel");
  ids.onMain = await discussion(team.roomId, "d-main");
});

afterAll(async () => {
  await server.stop();
});

function children(auth: Credentials, query: Record<string, string>) {
  return api(server, "teams.listChildren", { auth, query });
}

describe("teams.listChildren", () => {
  test("lists the main room, the team's rooms the caller can open and the main room's discussions", async () => {
    const forAdmin = await children(admin, { teamId: team._id });
    const forMember = await children(member.credentials, { teamName: team.name });
    const byRoom = await children(member.credentials, { roomId: team.roomId });

    expect(forAdmin.status).toBe(200);
    expect(forAdmin.body.success).toBe(true);
    const idsOf = (body: { data: { _id: string }[] }) => body.data.map((r) => r._id).sort();
    expect(forAdmin.body.total).toBe(5);
    expect(idsOf(forAdmin.body)).toEqual(
      [team.roomId, ids.adminGroup, ids.channel, ids.channel2, ids.onMain].sort(),
    );
    expect(forMember.body.total).toBe(5);
    expect(idsOf(forMember.body)).toEqual(
      [team.roomId, ids.memberGroup, ids.channel, ids.channel2, ids.onMain].sort(),
    );
    expect(byRoom.body).toEqual(forMember.body);
    const main = forAdmin.body.data.find((r: { _id: string }) => r._id === team.roomId);
    expect(main).toMatchObject({ teamMain: true, teamId: team._id, t: "c" });
    expect(forAdmin.body).toMatchObject({ offset: 0, count: expect.any(Number) });
  });

  test("filters by part of the name, by kind, and pages in creation order", async () => {
    const named = await children(admin, { teamId: team._id, filter: `${tag}-P-` });
    const rooms = await children(admin, { teamId: team._id, type: "channels" });
    const discussions = await children(admin, { teamId: team._id, type: "discussions" });
    const page = await children(admin, { teamId: team._id, offset: "1", count: "2" });
    const newest = await children(admin, { teamId: team._id, sort: '{"ts":-1}', count: "1" });

    expect(named.body.data.map((r: { _id: string }) => r._id)).toEqual([ids.adminGroup]);
    expect(named.body.total).toBe(1);
    expect(rooms.body.total).toBe(4);
    expect(rooms.body.data.some((r: { prid?: string }) => r.prid)).toBe(false);
    expect(discussions.body.total).toBe(1);
    expect(discussions.body.data[0]._id).toBe(ids.onMain);
    expect(page.body).toMatchObject({ total: 5, offset: 1, count: 2 });
    // Created in this order: the main room, the admin's group, the member's group, ...
    expect(page.body.data.map((r: { _id: string }) => r._id)).toEqual([
      ids.adminGroup,
      ids.channel,
    ]);
    expect(newest.body.data.map((r: { _id: string }) => r._id)).toEqual([ids.onMain]);
  });

  test("a private team's member sees its main room; someone outside it is refused", async () => {
    const own = await children(member.credentials, { teamId: privateTeam._id });
    const outsider = await children(admin, { teamId: privateTeam._id });

    expect(own.body.total).toBe(1);
    expect(own.body.data[0]._id).toBe(privateTeam.roomId);
    expect(outsider.status).toBe(400);
    expect(outsider.body).toEqual({ success: false, error: "error-invalid-team-not-a-member" });
  });

  test("a team that does not exist is not found; a query naming none, two or a bad kind is refused", async () => {
    const missing: Record<string, string>[] = [
      { teamId: "nope" },
      { teamId: "" },
      { teamName: "" },
      { roomId: "" },
    ];
    for (const query of missing) {
      const res = await children(admin, query);
      expect({ query, status: res.status, body: res.body }).toEqual({
        query,
        status: 404,
        body: { success: false, error: "Resource not found" },
      });
    }
    const malformed: Record<string, string>[] = [
      {},
      { teamId: team._id, teamName: team.name },
      { teamId: team._id, type: "other" },
    ];
    for (const query of malformed) {
      const res = await children(admin, query);
      expect({ query, status: res.status, success: res.body.success }).toEqual({
        query,
        status: 400,
        success: false,
      });
    }
    const notOnTeam = await children(admin, { roomId: ids.onChannel });
    expect(notOnTeam.body).toEqual({ success: false, error: "room-not-on-team" });
    const anonymous = await api(server, "teams.listChildren", { query: { teamId: team._id } });
    expect(anonymous.status).toBe(401);
  });
});
