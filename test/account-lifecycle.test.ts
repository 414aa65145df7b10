/**
 * Deactivating, deleting and logging out accounts over real HTTP, with the realtime side
 * over real WebSockets: a deactivated or logged-out user's open sessions close at once,
 * and rooms a user owns alone change owner or go only when the caller confirms.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, closed, type SeededUser, seedUser, sha256 } from "./ddp-helpers.ts";
import { api, login, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** A channel made by the admin with `owner` as its only owner, and `others` in it. */
async function channelOwnedBy(owner: SeededUser, others: SeededUser[] = []): Promise<string> {
  const name = `owned-${crypto.randomUUID().slice(0, 8)}`;
  const created = await api(server, "channels.create", {
    auth: owner.credentials,
    body: { name, members: others.map((o) => o.username) },
  });
  return created.body.channel._id;
}

async function rolesOf(rid: string) {
  const res = await api(server, "channels.roles", { auth: server.admin, query: { roomId: rid } });
  return res.body.roles.map((r: { u: { _id: string }; roles: string[] }) => [r.u._id, r.roles]);
}

describe("users.setActiveStatus", () => {
  test("deactivating a user revokes their tokens and closes their open sessions at once", async () => {
    const user = await seedUser(server, "deact");
    const socket = await clients.connect(server, user);
    const closing = closed(socket.socket);

    const res = await api(server, "users.setActiveStatus", {
      auth: server.admin,
      body: { userId: user._id, activeStatus: false },
    });

    expect(res.body).toEqual({ user: { _id: user._id, active: false }, success: true });
    expect({ code: (await closing).code, reason: (await closing).reason }).toEqual({
      code: 1000,
      reason: "Logged out",
    });
    expect((await api(server, "me", { auth: user.credentials })).status).toBe(401);
    const login = await api(server, "login", {
      body: { user: user.username, password: user.password },
    });
    expect(login.status).toBe(401);
  });

  test("a reactivated user logs in again", async () => {
    const user = await seedUser(server, "react");
    const body = (activeStatus: boolean) => ({ userId: user._id, activeStatus });
    await api(server, "users.setActiveStatus", { auth: server.admin, body: body(false) });

    const res = await api(server, "users.setActiveStatus", {
      auth: server.admin,
      body: body(true),
    });
    const login = await api(server, "login", {
      body: { user: user.username, password: user.password },
    });

    expect(res.body.user.active).toBe(true);
    expect(login.status).toBe(200);
  });

  test("nobody changes their own status, and users without the permission nobody's", async () => {
    const user = await seedUser(server, "self");
    const other = await seedUser(server, "other");

    const own = await api(server, "users.setActiveStatus", {
      auth: server.admin,
      body: { userId: server.admin.userId, activeStatus: false },
    });
    const plain = await api(server, "users.setActiveStatus", {
      auth: user.credentials,
      body: { userId: other._id, activeStatus: false },
    });

    for (const res of [own, plain]) {
      expect(res.status).toBe(403);
      expect(res.body.error).toBe(
        "User does not have the permissions required for this action [error-unauthorized]",
      );
    }
  });

  test("a last owner is refused without confirmRelinquish and hands the room over with it", async () => {
    const [owner, member] = [await seedUser(server, "own"), await seedUser(server, "mem")];
    const rid = await channelOwnedBy(owner, [member]);
    const body = { userId: owner._id, activeStatus: false };

    const refused = await api(server, "users.setActiveStatus", { auth: server.admin, body });
    const done = await api(server, "users.setActiveStatus", {
      auth: server.admin,
      body: { ...body, confirmRelinquish: true },
    });

    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      success: false,
      error: "[user-last-owner]",
      errorType: "user-last-owner",
      details: { shouldBeRemoved: [], shouldChangeOwner: [expect.any(String)] },
    });
    expect(done.status).toBe(200);
    expect(await rolesOf(rid)).toContainEqual([member._id, ["owner"]]);
  });
});

describe("users.delete", () => {
  test("needs delete-user", async () => {
    const [user, other] = [await seedUser(server, "del"), await seedUser(server, "del")];

    const res = await api(server, "users.delete", {
      auth: user.credentials,
      body: { userId: other._id },
    });

    expect(res.status).toBe(403);
    expect(res.body.error).toBe(
      "User does not have the permissions required for this action [error-unauthorized]",
    );
  });

  test("deletes the account, closes its sessions and takes it out of its rooms", async () => {
    const user = await seedUser(server, "gone");
    const socket = await clients.connect(server, user);
    const closing = closed(socket.socket);
    await api(server, "chat.postMessage", {
      auth: user.credentials,
      body: { channel: "#general", text: "soon gone" },
    });

    const res = await api(server, "users.delete", {
      auth: server.admin,
      body: { userId: user._id },
    });
    const members = await api(server, "channels.members", {
      auth: server.admin,
      query: { roomId: "GENERAL", count: "0" },
    });
    const info = await api(server, "users.info", {
      auth: server.admin,
      query: { userId: user._id },
    });

    expect(res.body).toEqual({ success: true });
    expect((await closing).reason).toBe("Logged out");
    expect(members.body.members.map((m: { _id: string }) => m._id)).not.toContain(user._id);
    expect(info.body).toEqual({ success: false, error: "User not found." });
  });

  test("a room the user owns alone with nobody else in it goes with confirmRelinquish", async () => {
    const owner = await seedUser(server, "alone");
    const rid = await channelOwnedBy(owner);

    const refused = await api(server, "users.delete", {
      auth: server.admin,
      body: { userId: owner._id },
    });
    await api(server, "users.delete", {
      auth: server.admin,
      body: { userId: owner._id, confirmRelinquish: true },
    });
    const info = await api(server, "channels.info", { auth: server.admin, query: { roomId: rid } });

    expect(refused.body.details.shouldBeRemoved).toHaveLength(1);
    expect(info.status).toBe(400);
  });

  test("of two deletions of one user at once, the second finds no user", async () => {
    const user = await seedUser(server, "twice");

    const both = await Promise.all(
      [1, 2].map(() =>
        api(server, "users.delete", { auth: server.admin, body: { userId: user._id } }),
      ),
    );

    expect(both.map((res) => res.status).toSorted()).toEqual([200, 400]);
    expect(both.find((res) => res.status === 400)?.body).toEqual({
      success: false,
      error:
        'The required "userId" or "username" param provided does not match any users [error-invalid-user]',
      errorType: "error-invalid-user",
    });
  });

  test("two administrators deleting each other at once leave one administrator", async () => {
    const alone = await startTestServer();
    try {
      const other = await api(alone, "users.create", {
        auth: alone.admin,
        body: {
          username: "second.admin",
          email: "second.admin@example.com",
          password: "pw-second",
          name: "Second",
          roles: ["admin", "user"],
        },
      });
      const second = await login(alone, "second.admin", "pw-second");

      await Promise.all([
        api(alone, "users.delete", { auth: alone.admin, body: { userId: other.body.user._id } }),
        api(alone, "users.delete", { auth: second, body: { userId: alone.admin.userId } }),
      ]);

      const left = await alone.parley.services.deps.db.users.countDocuments({ roles: "admin" });
      expect(left).toBe(1);
    } finally {
      await alone.stop();
    }
  });

  test("rocket.cat cannot be deleted", async () => {
    const res = await api(server, "users.delete", {
      auth: server.admin,
      body: { userId: "rocket.cat" },
    });

    expect(res.body.error).toBe(
      "Deleting the rocket.cat user is not allowed [error-action-not-allowed]",
    );
  });
});

describe("users.deleteOwnAccount", () => {
  test("is refused while Accounts_AllowDeleteOwnAccount is off", async () => {
    const user = await seedUser(server, "own.off");

    const res = await api(server, "users.deleteOwnAccount", {
      auth: user.credentials,
      body: { password: sha256(user.password) },
    });

    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
    });
  });

  test("with the setting on, needs the right password digest in any case", async () => {
    const user = await seedUser(server, "own.on");
    await api(server, "settings/Accounts_AllowDeleteOwnAccount", {
      auth: server.admin,
      body: { value: true },
    });

    const wrong = await api(server, "users.deleteOwnAccount", {
      auth: user.credentials,
      body: { password: sha256("nope") },
    });
    const right = await api(server, "users.deleteOwnAccount", {
      auth: user.credentials,
      body: { password: sha256(user.password).toUpperCase() },
    });
    await api(server, "settings/Accounts_AllowDeleteOwnAccount", {
      auth: server.admin,
      body: { value: false },
    });

    expect(wrong.body.error).toBe("Invalid password [error-invalid-password]");
    expect(right.body).toEqual({ success: true });
  });
});

describe("users.logout", () => {
  test("an administrator logs another user out of every session", async () => {
    const user = await seedUser(server, "out");
    const socket = await clients.connect(server, user);
    const closing = closed(socket.socket);

    const res = await api(server, "users.logout", {
      auth: server.admin,
      body: { userId: user._id },
    });

    expect(res.body).toEqual({ message: `User ${user._id} has been logged out!`, success: true });
    expect((await closing).reason).toBe("Logged out");
    expect((await api(server, "me", { auth: user.credentials })).status).toBe(401);
  });

  test("logging out someone else needs logout-other-user", async () => {
    const [user, other] = [await seedUser(server, "lo"), await seedUser(server, "lo")];

    const res = await api(server, "users.logout", {
      auth: user.credentials,
      body: { userId: other._id },
    });

    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });
});
