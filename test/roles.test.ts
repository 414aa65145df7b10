/**
 * Roles over real HTTP and WebSocket: the catalogue (`roles.list`, `roles.sync`), giving
 * and taking global roles (with their effect on permissions and the `roles-change`
 * announcement), and listing who holds a role.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let alice: SeededUser;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "roles");
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

describe("roles.list", () => {
  test("lists every default role without its update time", async () => {
    const res = await api(server, "roles.list", { auth: alice.credentials });

    expect(res.status).toBe(200);
    expect(res.body.roles).toHaveLength(12);
    expect(res.body.roles.find((r: { _id: string }) => r._id === "owner")).toEqual({
      _id: "owner",
      name: "owner",
      scope: "Subscriptions",
      description: "Owner",
      protected: true,
      mandatory2fa: false,
    });
    const described = Object.fromEntries(
      res.body.roles.map((r: { _id: string; description: string }) => [r._id, r.description]),
    );
    expect(described).toEqual({
      admin: "Admin",
      moderator: "Moderator",
      leader: "Leader",
      owner: "Owner",
      user: "",
      bot: "",
      app: "",
      guest: "",
      anonymous: "",
      "livechat-agent": "Livechat Agent",
      "livechat-manager": "Livechat Manager",
      "livechat-guest": "",
    });
  });

  test("needs a login", async () => {
    const res = await api(server, "roles.list");

    expect(res.status).toBe(401);
  });
});

describe("roles.sync", () => {
  test("answers the roles changed after updatedSince", async () => {
    const res = await api(server, "roles.sync", {
      auth: alice.credentials,
      query: { updatedSince: new Date(0).toISOString() },
    });

    expect(res.status).toBe(200);
    expect(res.body.roles.update).toHaveLength(12);
    expect(res.body.roles.update[0]._updatedAt).toEqual(expect.any(String));
    expect(res.body.roles.remove).toEqual([]);
  });

  test("answers nothing for a date after every change", async () => {
    const res = await api(server, "roles.sync", {
      auth: alice.credentials,
      query: { updatedSince: new Date(Date.now() + 60_000).toISOString() },
    });

    expect(res.body).toEqual({ roles: { update: [], remove: [] }, success: true });
  });

  test("requires updatedSince", async () => {
    const res = await api(server, "roles.sync", { auth: alice.credentials });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });
});

describe("roles.addUserToRole and roles.removeUserFromRole", () => {
  test("a given role grants its permissions at once and is announced", async () => {
    const bob = await seedUser(server, "bob");
    const ddp = await clients.connect(server, alice);
    expect((await ddp.sub("stream-notify-logged", "roles-change", false)).msg).toBe("ready");
    const canList = () =>
      api(server, "roles.getUsersInRole", { auth: bob.credentials, query: { role: "admin" } });
    expect((await canList()).status).toBe(403);

    const event = ddp.streamEvent("stream-notify-logged", "roles-change");
    const added = await api(server, "roles.addUserToRole", {
      auth: server.admin,
      body: { roleName: "admin", username: bob.username },
    });

    expect(added.status).toBe(200);
    expect(added.body.role._id).toBe("admin");
    expect(await event).toEqual([
      { type: "added", _id: "admin", u: { _id: bob._id, username: bob.username } },
    ]);
    expect((await canList()).status).toBe(200);

    const removed = await api(server, "roles.removeUserFromRole", {
      auth: server.admin,
      body: { roleId: "admin", username: bob.username },
    });
    expect(removed.status).toBe(200);
    expect((await canList()).status).toBe(403);
  });

  test("a user without access-permissions may not give roles", async () => {
    const res = await api(server, "roles.addUserToRole", {
      auth: alice.credentials,
      body: { roleId: "admin", username: alice.username },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Accessing permissions is not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
    });
  });

  test("refuses an unknown role and a role already held", async () => {
    const unknown = await api(server, "roles.addUserToRole", {
      auth: server.admin,
      body: { roleId: "no-such-role", username: alice.username },
    });
    const held = await api(server, "roles.addUserToRole", {
      auth: server.admin,
      body: { roleId: "user", username: alice.username },
    });

    expect(unknown.body).toEqual({
      success: false,
      error: "error-role-not-found",
      errorType: "Role not found",
    });
    expect(held.body.errorType).toBe("error-user-already-in-role");
  });

  test("refuses to take a role the user does not hold", async () => {
    const res = await api(server, "roles.removeUserFromRole", {
      auth: server.admin,
      body: { roleId: "bot", username: alice.username },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("error-user-not-in-role");
  });
});

describe("roles.getUsersInRole", () => {
  test("lists the holders of a role, paged, with the total", async () => {
    const res = await api(server, "roles.getUsersInRole", {
      auth: server.admin,
      query: { role: "bot", count: "1" },
    });

    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    expect(res.body.users).toEqual([
      expect.objectContaining({ _id: "rocket.cat", username: "rocket.cat" }),
    ]);
    expect(res.body.users[0].roles).toBeUndefined();
  });

  test("refuses an unknown role", async () => {
    const res = await api(server, "roles.getUsersInRole", {
      auth: server.admin,
      query: { role: "no-such-role" },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("error-invalid-roleId");
  });
});

describe("getUserRoles", () => {
  test("answers the holders of global roles that have a description, with those roles only", async () => {
    const agent = await seedUser(server, "agent");
    const ddp = await clients.connect(server, alice);
    const before = await ddp.call("getUserRoles");
    await api(server, "roles.addUserToRole", {
      auth: server.admin,
      body: { roleId: "livechat-agent", username: agent.username },
    });

    const after = await ddp.call("getUserRoles");
    await api(server, "roles.removeUserFromRole", {
      auth: server.admin,
      body: { roleId: "livechat-agent", username: agent.username },
    });

    const admin = {
      _id: "rocketchat.internal.admin.test",
      username: "rocketchat.internal.admin.test",
      roles: ["admin"],
    };
    expect(before.result).toEqual([admin]);
    expect(after.result).toEqual([
      { _id: agent._id, username: agent.username, roles: ["livechat-agent"] },
      admin,
    ]);
  });

  test("refuses an anonymous connection", async () => {
    const ddp = await clients.connect(server);

    const answer = await ddp.call("getUserRoles");

    expect((answer.error as { error: string }).error).toBe("error-invalid-user");
  });
});

describe("roles.getUsersInPublicRoles", () => {
  test("answers the same holders as getUserRoles", async () => {
    const ddp = await clients.connect(server, alice);

    const res = await api(server, "roles.getUsersInPublicRoles", { auth: alice.credentials });
    const viaDdp = await ddp.call("getUserRoles");

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ users: viaDdp.result, success: true });
    expect(res.body.users).toContainEqual({
      _id: "rocketchat.internal.admin.test",
      username: "rocketchat.internal.admin.test",
      roles: ["admin"],
    });
  });

  test("needs a login", async () => {
    const res = await api(server, "roles.getUsersInPublicRoles");

    expect(res.status).toBe(401);
  });
});

describe("room roles through the roles routes", () => {
  /** A new channel of alice's with `member` in it, and its id. */
  async function channelWith(member: SeededUser): Promise<string> {
    const res = await api(server, "channels.create", {
      auth: alice.credentials,
      body: { name: `roles-${crypto.randomUUID().slice(0, 8)}`, members: [member.username] },
    });
    return res.body.channel._id;
  }

  const give = (body: Record<string, string>) =>
    api(server, "roles.addUserToRole", { auth: server.admin, body });
  const take = (body: Record<string, string>) =>
    api(server, "roles.removeUserFromRole", { auth: server.admin, body });
  const subRoles = async (rid: string, uid: string) =>
    (await server.parley.services.rooms.subscription(rid, uid))?.roles ?? [];

  test("a room role with roomId goes on the subscription, told to the member and to everyone", async () => {
    const bob = await seedUser(server, "member");
    const rid = await channelWith(bob);
    const mine = await clients.connect(server, bob);
    const everyone = await clients.connect(server, alice);
    const subsChanged = `${bob._id}/subscriptions-changed`;
    await mine.sub("stream-notify-user", subsChanged, false);
    await everyone.sub("stream-notify-logged", "roles-change", false);
    const changed = mine.streamEvent("stream-notify-user", subsChanged);
    const announced = everyone.streamEvent("stream-notify-logged", "roles-change");

    const res = await give({ roleId: "moderator", username: bob.username, roomId: rid });

    expect(res.status).toBe(200);
    expect(res.body.role).toMatchObject({ _id: "moderator", scope: "Subscriptions" });
    expect(await subRoles(rid, bob._id)).toEqual(["moderator"]);
    expect((await server.parley.services.accounts.usersByIds([bob._id]))[0]?.roles).toEqual([
      "user",
    ]);
    const [action, sub] = await changed;
    expect([action, sub]).toMatchObject(["updated", { rid, roles: ["moderator"] }]);
    expect(await announced).toEqual([
      {
        type: "added",
        _id: "moderator",
        u: { _id: bob._id, username: bob.username },
        scope: rid,
      },
    ]);
  });

  test("the room role counts for room permissions, is listed by getUsersInRole, and is taken back", async () => {
    const bob = await seedUser(server, "mod");
    const rid = await channelWith(bob);
    const topic = () =>
      api(server, "channels.setTopic", {
        auth: bob.credentials,
        body: { roomId: rid, topic: `t-${crypto.randomUUID().slice(0, 4)}` },
      });
    const before = await topic();
    expect(before.status).toBe(400);
    expect(before.body.errorType).toBe("error-action-not-allowed");

    await give({ roleId: "moderator", username: bob.username, roomId: rid });
    const allowed = await topic();
    const listed = await api(server, "roles.getUsersInRole", {
      auth: server.admin,
      query: { role: "moderator", roomId: rid },
    });
    const taken = await take({ roleId: "moderator", username: bob.username, scope: rid });
    const refusedAgain = await topic();

    expect(allowed.status).toBe(200);
    expect(listed.body.users.map((u: { _id: string }) => u._id)).toEqual([bob._id]);
    expect(listed.body.total).toBe(1);
    expect(taken.status).toBe(200);
    expect(await subRoles(rid, bob._id)).toEqual([]);
    expect(refusedAgain.body).toEqual(before.body);
  });

  test("refuses a user who is not in the room, a role held twice and a room role without a room", async () => {
    const bob = await seedUser(server, "outsider");
    const rid = await channelWith(await seedUser(server, "insider"));

    const outsider = await give({ roleId: "owner", username: bob.username, roomId: rid });
    const noRoom = await give({ roleId: "leader", username: bob.username });
    const twice = await give({ roleId: "owner", username: alice.username, roomId: rid });

    expect(outsider.body).toEqual({
      success: false,
      error: "User is not part of given room [error-invalid-user]",
      errorType: "error-invalid-user",
      details: { method: "authorization:addUserToRole" },
    });
    expect(noRoom.body.errorType).toBe("error-invalid-arguments");
    expect(twice.body).toEqual({
      success: false,
      error: "User already in role [error-user-already-in-role]",
      errorType: "error-user-already-in-role",
    });
  });

  test("a room keeps its last owner, and an unknown role is Rocket.Chat's error-invalid-roleId", async () => {
    const rid = await channelWith(await seedUser(server, "guest"));

    const lastOwner = await take({ roleId: "owner", username: alice.username, scope: rid });
    const unknown = await take({ roleId: "no-such-role", username: alice.username });

    expect(lastOwner.body.errorType).toBe("error-remove-last-owner");
    expect(await subRoles(rid, alice._id)).toEqual(["owner"]);
    expect(unknown.body).toEqual({
      success: false,
      error: "This role does not exist [error-invalid-roleId]",
      errorType: "error-invalid-roleId",
    });
  });

  test("a global role given with a roomId is given globally and announced with that scope", async () => {
    const bob = await seedUser(server, "global");
    const rid = await channelWith(bob);
    const everyone = await clients.connect(server, alice);
    await everyone.sub("stream-notify-logged", "roles-change", false);
    const announced = everyone.streamEvent(
      "stream-notify-logged",
      "roles-change",
      ([e]) => (e as { u: { _id: string } }).u._id === bob._id,
    );

    const res = await give({ roleId: "bot", username: bob.username, roomId: rid });
    const listed = await api(server, "roles.getUsersInRole", {
      auth: server.admin,
      query: { role: "bot", roomId: rid },
    });
    await take({ roleId: "bot", username: bob.username });

    expect(res.status).toBe(200);
    expect((await announced)[0]).toMatchObject({ type: "added", _id: "bot", scope: rid });
    expect(listed.body.users.map((u: { username: string }) => u.username)).toContain(bob.username);
  });
});
