import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  api,
  type Credentials,
  createUser,
  login,
  startTestServer,
  type TestServer,
} from "./helpers.ts";

let server: TestServer;
let member: { user: { _id: string; username: string }; credentials: Credentials };

beforeAll(async () => {
  server = await startTestServer();
  member = await createUser(server);
});

afterAll(async () => {
  await server.stop();
});

describe("users.create", () => {
  test("answers the new user's record without secrets", async () => {
    const res = await api(server, "users.create", {
      auth: server.admin,
      body: {
        email: "Ada@Example.com",
        name: "Ada",
        username: "ada",
        password: "pw-ada",
        roles: ["user"],
      },
    });

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.body).toEqual({
      success: true,
      user: {
        _id: expect.any(String),
        createdAt: expect.any(String),
        _updatedAt: expect.any(String),
        username: "ada",
        name: "Ada",
        emails: [{ address: "ada@example.com", verified: false }],
        type: "user",
        active: true,
        roles: ["user"],
        status: "offline",
        statusConnection: "offline",
        utcOffset: 0,
        requirePasswordChange: false,
        settings: {},
      },
    });
  });

  test("lets the new user log in with the given password", async () => {
    await api(server, "users.create", {
      auth: server.admin,
      body: { email: "grace@example.com", name: "Grace", username: "grace", password: "pw-grace" },
    });

    const credentials = await login(server, "grace", "pw-grace");

    expect(credentials.authToken).toEqual(expect.any(String));
  });

  test("subscribes a new guest to the default rooms, as Rocket.Chat does unconditionally", async () => {
    const guest = await createUser(server, { roles: ["guest"] });

    const res = await api(server, "users.info", {
      auth: guest.credentials,
      query: { userId: guest.user._id, includeUserRooms: "true" },
    });

    expect(res.body.user.rooms).toEqual([
      { _id: expect.any(String), rid: "GENERAL", name: "general", t: "c", unread: 0 },
    ]);
  });

  test("names the first missing required field in ajv's wording", async () => {
    const res = await api(server, "users.create", {
      auth: server.admin,
      body: { name: "No Email", username: "nomail" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'email' [invalid-params]",
      errorType: "invalid-params",
    });
  });

  test("refuses a username that is already taken", async () => {
    const body = {
      email: "other@example.com",
      name: "Other",
      username: member.user.username,
      password: "x",
    };

    const res = await api(server, "users.create", { auth: server.admin, body });

    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      `${member.user.username} is already in use :( [error-field-unavailable]`,
    );
    expect(res.body.errorType).toBe("error-field-unavailable");
  });

  test.each(["admin", "administrator", "system", "user"])(
    "refuses the reserved username %s",
    async (name) => {
      const body = { email: `${name}@example.com`, name, username: name, password: "x" };

      const res = await api(server, "users.create", { auth: server.admin, body });

      expect(res.status).toBe(400);
      expect(res.body.error).toBe(`${name} is blocked and can't be used! [error-blocked-username]`);
    },
  );

  test("refuses a caller without the create-user permission", async () => {
    const body = { email: "eve@example.com", name: "Eve", username: "eve", password: "x" };

    const res = await api(server, "users.create", { auth: member.credentials, body });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Adding user is not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "insertOrUpdateUser", action: "Adding_user" },
    });
  });

  test("lets a holder of create-user make administrators only with assign-admin-role", async () => {
    const grant = (roles: string[]) =>
      api(server, "permissions.update", {
        auth: server.admin,
        body: { permissions: [{ _id: "create-user", roles }] },
      });
    await grant(["admin", "user"]);
    try {
      const body = (username: string, roles: string[]) => ({
        email: `${username}@example.com`,
        name: username,
        username,
        password: "rocket.chat",
        roles,
      });

      const admin = await api(server, "users.create", {
        auth: member.credentials,
        body: body("would.be.admin", ["admin"]),
      });
      const plain = await api(server, "users.create", {
        auth: member.credentials,
        body: body("just.a.user", ["user"]),
      });

      expect(admin.status).toBe(400);
      expect(admin.body).toEqual({
        success: false,
        error: "Assigning admin is not allowed [error-action-not-allowed]",
        errorType: "error-action-not-allowed",
        details: { method: "insertOrUpdateUser", action: "Assign_admin" },
      });
      expect(plain.status).toBe(200);
      expect(plain.body.user.username).toBe("just.a.user");
    } finally {
      await grant(["admin"]);
    }
  });
  test("rejects an operator object where a string belongs", async () => {
    const body = { email: "op@example.com", name: "Op", username: { $ne: 1 }, password: "x" };

    const res = await api(server, "users.create", { auth: server.admin, body });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });

  test("answers 401 to a caller who is not logged in", async () => {
    const res = await api(server, "users.create", {
      body: { email: "a@b.co", name: "A", username: "a", password: "x" },
    });

    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      success: false,
      status: "error",
      message: "You must be logged in to do this.",
      error: "You must be logged in to do this.",
    });
  });
});

describe("UTF8_User_Names_Validation", () => {
  test("a pattern that is no regular expression falls back to Rocket.Chat's default", async () => {
    const setPattern = (value: string) =>
      api(server, "settings/UTF8_User_Names_Validation", { auth: server.admin, body: { value } });
    await setPattern("((");

    const fits = await api(server, "users.register", {
      body: {
        username: "pattern.fallback",
        email: "fallback@example.com",
        pass: "pw-fallback",
        name: "Fallback",
      },
    });
    const misfits = await api(server, "users.create", {
      auth: server.admin,
      body: { username: "no spaces", email: "nospace@example.com", password: "pw", name: "n" },
    });
    await setPattern("[0-9a-zA-Z-_.]+");

    expect(fits.status).toBe(200);
    expect(fits.body.user.username).toBe("pattern.fallback");
    expect(misfits.status).toBe(400);
    expect(misfits.body.errorType).toBe("error-input-is-not-a-valid-field");
  });
});

describe("users.register", () => {
  test("creates an account without authentication and shows only public fields", async () => {
    const body = {
      username: "visitor",
      email: "visitor@example.com",
      pass: "pw-visitor",
      name: "Visitor",
    };

    const res = await api(server, "users.register", { body });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      user: {
        _id: expect.any(String),
        username: "visitor",
        name: "Visitor",
        type: "user",
        active: true,
        status: "offline",
        utcOffset: 0,
      },
    });
    expect((await login(server, "visitor", "pw-visitor")).userId).toBe(res.body.user._id);
  });

  test("refuses a username that is taken with Rocket.Chat's plain message", async () => {
    const body = {
      username: member.user.username,
      email: "again@example.com",
      pass: "x",
      name: "Again",
    };

    const res = await api(server, "users.register", { body });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "Username is already in use" });
  });

  test("refuses a malformed username", async () => {
    const body = { username: "test$username<>", email: "bad@example.com", pass: "x", name: "Bad" };

    const res = await api(server, "users.register", { body });

    expect(res.body).toEqual({ success: false, error: "The username provided is not valid" });
  });

  test("refuses a name with markup characters", async () => {
    const body = { username: "markup", email: "markup@example.com", pass: "x", name: "</\\name>" };

    const res = await api(server, "users.register", { body });

    expect(res.body).toEqual({ success: false, error: "Name contains invalid characters" });
  });

  test("is refused while the registration form is disabled", async () => {
    const first = await startTestServer();
    await first.parley.services.deps.db.settings.updateOne(
      { _id: "Accounts_RegistrationForm" },
      { $set: { value: "Disabled" } },
    );
    await first.stop(true);
    const restarted = await startTestServer({ dataDir: first.dataDir });

    const body = { username: "latecomer", email: "late@example.com", pass: "x", name: "Late" };
    const res = await api(restarted, "users.register", { body }).finally(() => restarted.stop());

    expect(res.body).toEqual({
      success: false,
      error: "User registration is disabled [error-user-registration-disabled]",
      errorType: "error-user-registration-disabled",
      details: { method: "registerUser" },
    });
  });

  test("names the missing password in ajv's wording", async () => {
    const res = await api(server, "users.register", {
      body: { username: "nopass", email: "nopass@example.com" },
    });

    expect(res.status).toBe(400);
    expect(res.body.error).toBe("must have required property 'pass' [invalid-params]");
  });
});

describe("login", () => {
  test("finds the account by its username regardless of case, as Meteor's accounts do", async () => {
    const { user, password } = await createUser(server, { username: "Mixed.Case.Login" });

    const lower = await api(server, "login", {
      body: { user: "mixed.case.login", password },
    });
    const upper = await api(server, "login", {
      body: { username: "MIXED.CASE.LOGIN", password },
    });
    const wrong = await api(server, "login", {
      body: { user: "mixed.case.login", password: "not-the-password" },
    });

    expect(lower.status).toBe(200);
    expect(lower.body.data.userId).toBe(user._id);
    expect(upper.status).toBe(200);
    expect(upper.body.data.userId).toBe(user._id);
    expect(wrong.status).toBe(401);
  });
});

describe("users.info", () => {
  test("shows another user's public and full fields to an administrator", async () => {
    const res = await api(server, "users.info", {
      auth: server.admin,
      query: { username: member.user.username },
    });

    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({
      _id: member.user._id,
      username: member.user.username,
      canViewAllInfo: true,
    });
    expect(res.body.user.emails).toEqual([
      { address: `${member.user.username}@example.com`, verified: false },
    ]);
    expect(res.body.user.services).toBeUndefined();
  });

  test("hides e-mails and roles of others from a regular user", async () => {
    const res = await api(server, "users.info", {
      auth: member.credentials,
      query: { userId: "rocket.cat" },
    });

    expect(res.body.user).toEqual({
      _id: "rocket.cat",
      name: "Rocket.Cat",
      username: "rocket.cat",
      status: "online",
      utcOffset: 0,
      type: "bot",
      active: true,
      canViewAllInfo: false,
    });
  });

  test("shows the caller's own services as whether a password exists, never login tokens", async () => {
    const res = await api(server, "users.info", {
      auth: member.credentials,
      query: { userId: member.user._id },
    });

    expect(res.body.user.services).toEqual({ password: { exists: true } });
  });

  test("lists the user's rooms when asked with includeUserRooms", async () => {
    const query = { userId: member.user._id, includeUserRooms: "true" };

    const res = await api(server, "users.info", { auth: server.admin, query });

    expect(res.body.user.rooms).toContainEqual(
      expect.objectContaining({ rid: "GENERAL", t: "c", unread: 0 }),
    );
  });

  test("answers a plain error for an unknown user", async () => {
    const res = await api(server, "users.info", {
      auth: server.admin,
      query: { username: "nobody-here" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "User not found." });
  });

  test("requires userId or username in ajv's anyOf wording", async () => {
    const res = await api(server, "users.info", { auth: server.admin });

    expect(res.body.error).toBe(
      "must have required property 'userId'\n must have required property 'username'\n must match a schema in anyOf [invalid-params]",
    );
  });
});

describe("users.info and names that look like ids", () => {
  test("a username equal to another user's id does not stand in for that user", async () => {
    const victim = member.user;
    const mimic = await createUser(server, { username: victim._id });

    const byId = await api(server, "users.info", {
      auth: member.credentials,
      query: { userId: victim._id },
    });
    const byName = await api(server, "users.info", {
      auth: member.credentials,
      query: { username: victim._id },
    });

    expect(byId.body.user._id).toBe(victim._id);
    expect(byName.body.user._id).toBe(mimic.user._id);
  });
});

describe("users.list", () => {
  test("pages through users sorted by username", async () => {
    const first = await api(server, "users.list", { auth: server.admin, query: { count: "2" } });
    const second = await api(server, "users.list", {
      auth: server.admin,
      query: { count: "2", offset: "2" },
    });

    expect(first.body).toMatchObject({
      success: true,
      count: 2,
      offset: 0,
      total: expect.any(Number),
    });
    expect(second.body).toMatchObject({ count: 2, offset: 2, total: first.body.total });
    const names = [...first.body.users, ...second.body.users].map(
      (u: { username: string }) => u.username,
    );
    expect(names).toEqual([...names].sort());
  });

  test("shows each user with Rocket.Chat's list fields", async () => {
    const res = await api(server, "users.list", { auth: server.admin, query: { count: "100" } });

    const cat = res.body.users.find((u: { _id: string }) => u._id === "rocket.cat");
    expect(cat).toEqual({
      _id: "rocket.cat",
      name: "Rocket.Cat",
      username: "rocket.cat",
      roles: ["bot"],
      status: "online",
      active: true,
      type: "bot",
      nameInsensitive: "rocket.cat",
    });
  });

  test("hides e-mails, roles and last logins from a user without view-full-other-user-info", async () => {
    const res = await api(server, "users.list", {
      auth: member.credentials,
      query: { count: "100" },
    });

    const self = res.body.users.find((u: { _id: string }) => u._id === member.user._id);
    expect(self).toEqual({
      _id: member.user._id,
      name: member.user.username,
      username: member.user.username,
      status: "offline",
      active: true,
      type: "user",
      nameInsensitive: member.user.username.toLowerCase(),
    });
    const leaked = res.body.users.filter(
      (u: Record<string, unknown>) => "emails" in u || "roles" in u || "lastLogin" in u,
    );
    expect(leaked).toEqual([]);
  });

  test("follows a sort given as JSON", async () => {
    const res = await api(server, "users.list", {
      auth: server.admin,
      query: { sort: '{"username":-1}' },
    });

    const names = res.body.users.map((u: { username: string }) => u.username);
    expect(names).toEqual([...names].sort().reverse());
  });

  test("rejects a sort that is not a field-to-direction object", async () => {
    const res = await api(server, "users.list", {
      auth: server.admin,
      query: { sort: '{"$where":1}' },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("error-invalid-sort");
  });

  test("answers the bare 403 to a user without view-d-room", async () => {
    // Rocket.Chat gives view-d-room to guests, but not to livechat agents.
    const agent = await createUser(server, { roles: ["livechat-agent"] });

    const res = await api(server, "users.list", { auth: agent.credentials });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });
});
