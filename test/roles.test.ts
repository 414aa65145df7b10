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
