/**
 * `users.update`, `users.updateOwnBasicInfo` and preferences over real HTTP: who may
 * change what, names and addresses unique regardless of case, reserved names refused,
 * and the current password needed to change an e-mail or a password.
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

async function setSetting(id: string, value: unknown) {
  const res = await api(server, `settings/${id}`, { auth: server.admin, body: { value } });
  if (res.status !== 200) throw new Error(`setting ${id}: ${JSON.stringify(res.body)}`);
}

const update = (userId: string, data: Record<string, unknown>, auth = server.admin) =>
  api(server, "users.update", { auth, body: { userId, data } });

const ownInfo = (user: SeededUser, data: Record<string, unknown>) =>
  api(server, "users.updateOwnBasicInfo", { auth: user.credentials, body: { data } });

describe("users.update", () => {
  test("an administrator changes another user's name, username, e-mail, bio and nickname", async () => {
    const user = await seedUser(server, "edit");
    const username = `renamed.${user._id}`;

    const res = await update(user._id, {
      name: "New Name",
      username,
      email: `${username}@example.com`,
      bio: "hello",
      nickname: "nick",
    });

    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({
      _id: user._id,
      name: "New Name",
      username,
      emails: [{ address: `${username}@example.com`.toLowerCase(), verified: false }],
      bio: "hello",
      nickname: "nick",
    });
    expect(res.body.user.services).toBeUndefined();
  });

  test("a new username is taken regardless of case", async () => {
    const [alice, bob] = [await seedUser(server, "case"), await seedUser(server, "case")];

    const res = await update(bob._id, { username: alice.username.toUpperCase() });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Could not save user identity [error-could-not-save-identity]",
      errorType: "error-could-not-save-identity",
      details: { method: "saveUser" },
    });
  });

  test("an e-mail another account holds is refused regardless of case", async () => {
    const [alice, bob] = [await seedUser(server, "mail"), await seedUser(server, "mail")];

    const res = await update(bob._id, { email: `${alice.username}@EXAMPLE.com`.toUpperCase() });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("error-field-unavailable");
    expect(res.body.error).toBe(
      `${alice.username}@example.com is already in use :( [error-field-unavailable]`,
    );
  });

  test.each(["admin", "administrator", "system", "user"])(
    "the reserved name %s cannot be taken",
    async (name) => {
      const user = await seedUser(server, "reserved");

      const res = await update(user._id, { username: name });

      expect(res.body.error).toBe("Could not save user identity [error-could-not-save-identity]");
    },
  );

  test("a name on Accounts_BlockedUsernameList is refused as blocked", async () => {
    const user = await seedUser(server, "blocked");
    await setSetting("Accounts_BlockedUsernameList", "forbidden.one, Other");

    const res = await update(user._id, { username: "OTHER" });
    await setSetting("Accounts_BlockedUsernameList", "");

    expect(res.body).toMatchObject({
      success: false,
      error: "OTHER is blocked and can't be used! [error-blocked-username]",
    });
  });

  test("a user without edit-other-user-info cannot edit someone else", async () => {
    const [alice, bob] = [await seedUser(server, "perm"), await seedUser(server, "perm")];

    const res = await update(bob._id, { name: "x" }, alice.credentials);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Editing user is not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "insertOrUpdateUser", action: "Editing_user" },
    });
  });

  test("granting admin needs assign-admin-role, and unknown roles are refused", async () => {
    const user = await seedUser(server, "roles");
    const editor = await seedUser(server, "editor");
    await api(server, "permissions.update", {
      auth: server.admin,
      body: { permissions: [{ _id: "edit-other-user-info", roles: ["admin", "user"] }] },
    });

    const asEditor = await update(user._id, { roles: ["user", "admin"] }, editor.credentials);
    const unknown = await update(user._id, { roles: ["no-such-role"] });
    const asAdmin = await update(user._id, { roles: ["user", "admin"] });
    await api(server, "permissions.update", {
      auth: server.admin,
      body: { permissions: [{ _id: "edit-other-user-info", roles: ["admin"] }] },
    });

    expect(asEditor.body.error).toBe("Assigning admin is not allowed [error-action-not-allowed]");
    expect(unknown.body.error).toBe(
      "The field Roles consist invalid role id [error-action-not-allowed]",
    );
    expect(asAdmin.body.user.roles).toEqual(["user", "admin"]);
  });

  test("the last active administrator keeps the admin role", async () => {
    const alone = await startTestServer();
    try {
      const self = alone.admin.userId;

      const res = await api(alone, "users.update", {
        auth: alone.admin,
        body: { userId: self, data: { roles: ["user"] } },
      });

      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        success: false,
        error: "Leaving the app without admins is not allowed [error-action-not-allowed]",
        errorType: "error-action-not-allowed",
        details: { method: "insertOrUpdateUser", action: "Remove_last_admin" },
      });
      const me = await api(alone, "me", { auth: alone.admin });
      expect(me.body.roles).toContain("admin");
    } finally {
      await alone.stop();
    }
  });

  test("a new password works at once, the old one no longer does, and other logins end", async () => {
    const user = await seedUser(server, "pw");
    const socket = await clients.connect(server, user);
    const closing = closed(socket.socket);

    const res = await update(user._id, { password: "Brand-new-1!" });

    expect(res.status).toBe(200);
    expect((await closing).reason).toBe("Logged out");
    expect((await login(server, user.username, "Brand-new-1!")).userId).toBe(user._id);
    const old = await api(server, "login", {
      body: { user: user.username, password: user.password },
    });
    expect(old.status).toBe(401);
  });

  test("verified, requirePasswordChange and an empty userId behave as in Rocket.Chat", async () => {
    const user = await seedUser(server, "flags");

    const res = await update(user._id, { verified: true, requirePasswordChange: true });
    const empty = await update("", {});
    const extra = await update(user._id, { joinDefaultChannels: true });

    expect(res.body.user).toMatchObject({
      emails: [{ verified: true }],
      requirePasswordChange: true,
    });
    expect(empty.body.error).toBe("must NOT have fewer than 1 characters [invalid-params]");
    expect(extra.body.errorType).toBe("invalid-params");
  });

  test("a bio over 260 characters is refused", async () => {
    const user = await seedUser(server, "bio");

    const res = await update(user._id, { bio: "x".repeat(261) });

    expect(res.body.error).toBe("Bio size exceeds 260 characters [error-bio-size-exceeded]");
  });

  test("a username change reaches the user's messages and subscriptions", async () => {
    const user = await seedUser(server, "refs");
    await api(server, "chat.postMessage", {
      auth: user.credentials,
      body: { channel: "#general", text: "before the rename" },
    });
    const username = `after.${user._id}`;

    await update(user._id, { username });
    const history = await api(server, "channels.history", {
      auth: user.credentials,
      query: { roomId: "GENERAL", count: "5" },
    });
    const sub = await api(server, "subscriptions.getOne", {
      auth: user.credentials,
      query: { roomId: "GENERAL" },
    });

    const mine = history.body.messages.find((m: { msg: string }) => m.msg === "before the rename");
    expect(mine.u).toMatchObject({ _id: user._id, username });
    expect(sub.body.subscription.u).toMatchObject({ _id: user._id, username });
  });
});

describe("users.updateOwnBasicInfo", () => {
  test("changes one's name and username without a password", async () => {
    const user = await seedUser(server, "own");
    const username = `own.new.${user._id}`;

    const res = await ownInfo(user, { name: "Me Myself", username });

    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ _id: user._id, name: "Me Myself", username });
  });

  test("concurrent renames leave the direct message partner naming the final username", async () => {
    const [user, partner] = [await seedUser(server, "racer"), await seedUser(server, "partner")];
    await api(server, "im.create", {
      auth: partner.credentials,
      body: { username: user.username },
    });

    const renames = await Promise.all(
      [1, 2, 3, 4].map((n) => ownInfo(user, { username: `racer.${n}.${user._id}` })),
    );

    expect(renames.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    const final = await api(server, "users.info", {
      auth: partner.credentials,
      query: { userId: user._id },
    });
    const subs = await api(server, "subscriptions.get", { auth: partner.credentials });
    const ims = await api(server, "im.list", { auth: partner.credentials });
    const username = final.body.user.username;
    expect(subs.body.update.filter((sub: { t: string }) => sub.t === "d")).toEqual([
      expect.objectContaining({ name: username }),
    ]);
    expect(ims.body.ims[0].usernames.toSorted()).toEqual([partner.username, username].toSorted());
  });

  test("a status text is cut to 120 characters, as users.setStatus cuts it", async () => {
    const user = await seedUser(server, "status");

    const own = await ownInfo(user, { statusText: ` ${"o".repeat(500)} ` });
    const byAdmin = await update(user._id, { statusText: "a".repeat(500) });

    expect(own.body.user.statusText).toBe("o".repeat(120));
    expect(byAdmin.body.user.statusText).toBe("a".repeat(120));
  });

  test("an e-mail change without the current password needs the password factor", async () => {
    const user = await seedUser(server, "nopw");

    const res = await ownInfo(user, { email: `other.${user._id}@example.com` });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("totp-required");
  });

  test("a wrong current password is refused", async () => {
    const user = await seedUser(server, "wrongpw");

    const res = await ownInfo(user, {
      newPassword: "Other-pass-1!",
      currentPassword: sha256("no"),
    });

    expect(res.body.errorType).toBe("totp-invalid");
  });

  test("a password change keeps this login and ends the others", async () => {
    const user = await seedUser(server, "keep");
    const other = await login(server, user.username, user.password);
    const socket = await clients.connect(server, { ...user, credentials: other });
    const closing = closed(socket.socket);

    const res = await ownInfo(user, {
      currentPassword: sha256(user.password),
      newPassword: "Changed-pass-1!",
    });

    expect(res.status).toBe(200);
    expect((await closing).reason).toBe("Logged out");
    expect((await api(server, "me", { auth: user.credentials })).status).toBe(200);
    expect((await api(server, "me", { auth: other })).status).toBe(401);
  });

  test("the password policy lists every rule a new password breaks", async () => {
    const user = await seedUser(server, "policy");
    await setSetting("Accounts_Password_Policy_Enabled", true);

    const res = await ownInfo(user, {
      currentPassword: sha256(user.password),
      newPassword: "aaaa",
    });
    await setSetting("Accounts_Password_Policy_Enabled", false);

    expect(res.body).toEqual({
      success: false,
      error:
        "The password provided does not meet the server's password policy. [error-password-policy-not-met]",
      errorType: "error-password-policy-not-met",
      details: [
        {
          error: "error-password-policy-not-met-minLength",
          message: "The password does not meet the minimum length password policy.",
        },
        {
          error: "error-password-policy-not-met-repeatingCharacters",
          message:
            "The password contains repeating characters which is against the password policy.",
        },
        {
          error: "error-password-policy-not-met-oneUppercase",
          message:
            "The password does not contain at least one uppercase character which is against the password policy.",
        },
        {
          error: "error-password-policy-not-met-oneNumber",
          message:
            "The password does not contain at least one numerical character which is against the password policy.",
        },
        {
          error: "error-password-policy-not-met-oneSpecial",
          message:
            "The password does not contain at least one special character which is against the password policy.",
        },
      ],
    });
  });

  test("a setting that locks the real name refuses a change of one's own name", async () => {
    const user = await seedUser(server, "locked");
    await setSetting("Accounts_AllowRealNameChange", false);

    const res = await ownInfo(user, { name: "Other" });
    await setSetting("Accounts_AllowRealNameChange", true);

    expect(res.body.error).toBe("Edit user real name is not allowed [error-action-not-allowed]");
  });
});

describe("preferences", () => {
  test("set preferences and language read back from users.getPreferences", async () => {
    const user = await seedUser(server, "prefs");

    const set = await api(server, "users.setPreferences", {
      auth: user.credentials,
      body: { data: { useEmojis: false, idleTimeLimit: 600, language: "de" } },
    });
    const got = await api(server, "users.getPreferences", { auth: user.credentials });

    expect(set.body.user).toEqual({
      _id: user._id,
      settings: { preferences: { useEmojis: false, idleTimeLimit: 600, language: "de" } },
    });
    expect(got.body).toEqual({
      preferences: { useEmojis: false, idleTimeLimit: 600, language: "de" },
      success: true,
    });
  });

  test("another user's preferences need edit-other-user-info", async () => {
    const [alice, bob] = [await seedUser(server, "p"), await seedUser(server, "p")];

    const res = await api(server, "users.setPreferences", {
      auth: alice.credentials,
      body: { userId: bob._id, data: { useEmojis: false } },
    });

    expect(res.body).toEqual({
      success: false,
      error: "Editing user is not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
    });
  });
});
