/**
 * The permission table over real HTTP and WebSocket: listing with `updatedSince`,
 * changing which roles hold a permission (with Rocket.Chat's refusals), the change taking
 * effect at once, its announcement on `stream-notify-logged`, and `permissions/get`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();
let alice: SeededUser;

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "perms");
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** Sets the roles of `permission` as the administrator. */
function setRoles(permission: string, roles: string[]) {
  return api(server, "permissions.update", {
    auth: server.admin,
    body: { permissions: [{ _id: permission, roles }] },
  });
}

describe("permissions.listAll", () => {
  test("lists every permission with its roles and update time", async () => {
    const res = await api(server, "permissions.listAll", { auth: alice.credentials });

    expect(res.status).toBe(200);
    expect(res.body.remove).toEqual([]);
    const createC = res.body.update.find((p: { _id: string }) => p._id === "create-c");
    expect(createC).toEqual({
      _id: "create-c",
      roles: ["admin", "user", "bot", "app"],
      _updatedAt: expect.any(String),
    });
  });

  test("with updatedSince lists only the permissions changed after it", async () => {
    // A millisecond back, so a change within the same millisecond still counts as after it.
    const before = new Date(Date.now() - 1).toISOString();
    await setRoles("pin-message", ["owner", "moderator", "admin", "user"]);

    const res = await api(server, "permissions.listAll", {
      auth: alice.credentials,
      query: { updatedSince: before },
    });

    expect(res.status).toBe(200);
    expect(res.body.update.map((p: { _id: string }) => p._id)).toEqual(["pin-message"]);
    await setRoles("pin-message", ["owner", "moderator", "admin"]);
  });

  test("refuses an updatedSince that is not a date", async () => {
    const res = await api(server, "permissions.listAll", {
      auth: alice.credentials,
      query: { updatedSince: "not-a-date" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        'The "updatedSince" query parameter must be a valid date. [error-roomId-param-invalid]',
      errorType: "error-roomId-param-invalid",
    });
  });

  test("needs a login", async () => {
    const res = await api(server, "permissions.listAll");

    expect(res.status).toBe(401);
  });
});

describe("the default table", () => {
  test("holds every Rocket.Chat permission with its default roles", async () => {
    const res = await api(server, "permissions.listAll", { auth: alice.credentials });

    const roles = (id: string) => res.body.update.find((p: { _id: string }) => p._id === id)?.roles;
    expect(res.body.update).toHaveLength(176);
    expect(roles("view-d-room")).toEqual(["admin", "user", "bot", "app", "guest"]);
    expect(roles("create-team")).toEqual(["admin", "user"]);
    expect(roles("view-livechat-rooms")).toEqual(["livechat-manager", "livechat-monitor", "admin"]);
    expect(roles("kick-user-from-any-p-room")).toEqual([]);
  });

  test("a restart adds missing permissions and leaves changed ones as they are", async () => {
    const own = await startTestServer();
    const { db } = own.parley.services.deps;
    await db.permissions.updateOne({ _id: "create-team" }, { $set: { roles: ["admin"] } });
    await db.permissions.deleteOne({ _id: "view-logs" });
    await db.roles.updateOne({ _id: "admin" }, { $set: { description: "Boss" } });
    await own.stop(true);

    const again = await startTestServer({ dataDir: own.dataDir });
    const find = (id: string) => again.parley.services.deps.db.permissions.findOne({ _id: id });
    const createTeam = await find("create-team");
    const viewLogs = await find("view-logs");
    const admin = await again.parley.services.deps.db.roles.findOne({ _id: "admin" });
    await again.stop();

    expect(createTeam?.roles).toEqual(["admin"]);
    expect(viewLogs?.roles).toEqual(["admin"]);
    expect(admin?.description).toBe("Admin");
  });
});

describe("permissions.update", () => {
  test("a user without access-permissions may not change the table", async () => {
    const res = await api(server, "permissions.update", {
      auth: alice.credentials,
      body: { permissions: [{ _id: "create-c", roles: ["admin"] }] },
    });

    expect(res.status).toBe(403);
    expect(res.body.error).toBe(
      "User does not have the permissions required for this action [error-unauthorized]",
    );
  });

  test("refuses an unknown permission and changes nothing", async () => {
    const res = await api(server, "permissions.update", {
      auth: server.admin,
      body: {
        permissions: [
          { _id: "create-c", roles: ["admin"] },
          { _id: "no-such-permission", roles: ["admin"] },
        ],
      },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Invalid permission",
      errorType: "error-invalid-permission",
    });
    const list = await api(server, "permissions.listAll", { auth: alice.credentials });
    const createC = list.body.update.find((p: { _id: string }) => p._id === "create-c");
    expect(createC.roles).toEqual(["admin", "user", "bot", "app"]);
  });

  test("refuses an unknown role", async () => {
    const res = await setRoles("create-c", ["admin", "no-such-role"]);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Invalid role",
      errorType: "error-invalid-role",
    });
  });

  test("answers the whole table with the change in it", async () => {
    const res = await setRoles("mention-all", ["admin"]);

    expect(res.status).toBe(200);
    const changed = res.body.permissions.find((p: { _id: string }) => p._id === "mention-all");
    expect(changed.roles).toEqual(["admin"]);
    expect(res.body.permissions.length).toBeGreaterThan(40);
    await setRoles("mention-all", ["admin", "owner", "moderator", "user"]);
  });

  test("taking create-c from users stops them creating channels at once", async () => {
    const create = () =>
      api(server, "channels.create", {
        auth: alice.credentials,
        body: { name: `perm-${crypto.randomUUID().slice(0, 8)}` },
      });
    expect((await create()).status).toBe(200);

    await setRoles("create-c", ["admin", "bot", "app"]);
    const refused = await create();
    await setRoles("create-c", ["admin", "user", "bot", "app"]);
    const allowedAgain = await create();

    expect(refused.status).toBe(403);
    expect(allowedAgain.status).toBe(200);
  });

  test("announces each change as permissions-changed to logged-in listeners", async () => {
    const ddp = await clients.connect(server, alice);
    expect((await ddp.sub("stream-notify-logged", "permissions-changed", false)).msg).toBe("ready");

    const event = ddp.streamEvent("stream-notify-logged", "permissions-changed");
    await setRoles("delete-own-message", ["admin"]);
    const args = await event;
    await setRoles("delete-own-message", ["admin", "user"]);

    expect(args).toEqual([
      "updated",
      { _id: "delete-own-message", roles: ["admin"], _updatedAt: expect.any(Date) },
    ]);
  });
});

describe("permissions/get", () => {
  test("answers the table, or only what changed since a date", async () => {
    const ddp = await clients.connect(server, alice);
    const all = await ddp.call("permissions/get");
    const since = new Date(Date.now() - 1);
    await setRoles("set-leader", ["admin"]);

    const changed = await ddp.call("permissions/get", since);
    await setRoles("set-leader", ["admin", "owner"]);

    expect((all.result as unknown[]).length).toBeGreaterThan(40);
    expect(changed.result).toEqual({
      update: [{ _id: "set-leader", roles: ["admin"], _updatedAt: expect.any(Date) }],
      remove: [],
    });
  });

  test("refuses an anonymous connection", async () => {
    const ddp = await clients.connect(server);

    const answer = await ddp.call("permissions/get");

    expect((answer.error as { error: string }).error).toBe("error-invalid-user");
  });
});
