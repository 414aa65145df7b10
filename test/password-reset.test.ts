/**
 * Password reset by e-mail over real HTTP and WebSockets, with a real SMTP server on
 * loopback receiving the mails and a server clock the tests move: users.forgotPassword and
 * sendForgotPasswordEmail mail a link whose token the tests read from the mail,
 * pw.getPolicyReset answers its holder, and resetPassword sets the new password, ends the
 * other logins and logs the caller in; wrong, expired and used tokens are refused as
 * Meteor refuses them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ParsedMail } from "mailparser";
import type { User } from "../core/models.ts";
import { Clients, closed, sha256 } from "./ddp-helpers.ts";
import { api, createUser, setSettings, startTestServer, type TestServer } from "./helpers.ts";
import { addresses, type Inbox, startInbox, useInbox } from "./smtp-helpers.ts";

/** The server's clock, which only the tests move. */
let now = Date.parse("2026-04-01T09:00:00Z");
let server: TestServer;
let inbox: Inbox;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer({ clock: { now: () => new Date(now) } });
  inbox = await startInbox();
  await useInbox(server, inbox);
  await setSettings(server, { Site_Url: "https://chat.example.com/", Site_Name: "Acme Chat" });
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
  await inbox.close();
});

/** A new user with an e-mail address, logged in over REST. */
async function person() {
  const { user, credentials, password } = await createUser(server, { name: "Ada Lovelace" });
  const stored = await storedUser(user._id);
  const email = (stored?.emails as { address: string }[])[0]?.address as string;
  return { ...user, credentials, password, email };
}

type Person = Awaited<ReturnType<typeof person>>;

/** The next mail to `to`, once it arrives. */
function mailTo(to: string): Promise<ParsedMail> {
  return inbox.next((m) => addresses(m.to) === to && !handled.has(m));
}

/** User `uid` as the store holds it. */
async function storedUser(uid: string): Promise<User | null> {
  return (await server.parley.store.collection("users").findOne({ _id: uid })) as User | null;
}

/** Mails already read by a test, so that the next request waits for its own. */
const handled = new Set<ParsedMail>();

/** Asks for a reset of `who` over REST; resolves with the mail and the token it carries. */
async function requestReset(who: Person) {
  const arrived = mailTo(who.email);
  const res = await api(server, "users.forgotPassword", { body: { email: who.email } });
  expect(res.body).toEqual({ success: true });
  const mail = await arrived;
  handled.add(mail);
  const token = String(mail.html).match(/reset-password\/([A-Za-z0-9_-]+)/)?.[1] as string;
  return { mail, token };
}

/** Logs in over REST, answering the HTTP status. */
async function loginStatus(username: string, password: string): Promise<number> {
  return (await api(server, "login", { body: { user: username, password } })).status;
}

describe("users.forgotPassword", () => {
  test("mails a link to Site_Url/reset-password/<token> and stores the token as Meteor does", async () => {
    const who = await person();

    const { mail, token } = await requestReset(who);

    expect(mail.subject).toBe("Acme Chat - Reset your password");
    expect(addresses(mail.from)).toContain("chat@parley.example.com");
    expect(String(mail.html)).toContain(`href="https://chat.example.com/reset-password/${token}"`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await storedUser(who._id);
    expect(stored?.services?.password?.reset).toEqual({
      token,
      email: who.email,
      when: new Date(now),
      reason: "reset",
    });
  });

  test("the wording follows the Forgot_Password_Email settings and their placeholders", async () => {
    const who = await person();
    await setSettings(server, {
      Forgot_Password_Email_Subject: "Hello [name] from [Site_Name]",
      Forgot_Password_Email: "<p>Dear [name] ([email]): <a href='[Forgot_Password_Url]'>go</a></p>",
    });

    const { mail, token } = await requestReset(who);
    await setSettings(server, {
      Forgot_Password_Email_Subject: "[Site_Name] - Reset your password",
      Forgot_Password_Email: '<a href="[Forgot_Password_Url]">Reset</a>',
    });

    expect(mail.subject).toBe("Hello Ada Lovelace from Acme Chat");
    expect(String(mail.html)).toContain(
      `Dear Ada Lovelace (${who.email}): <a href='https://chat.example.com/reset-password/${token}'>`,
    );
  });

  test("an unknown address is answered as a known one, and nothing is mailed to it", async () => {
    const who = await person();

    const unknown = await api(server, "users.forgotPassword", {
      body: { email: "Nobody.Here@Example.com" },
    });
    await requestReset(who);

    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ success: true });
    expect(inbox.mails.some((m) => addresses(m.to).includes("nobody.here"))).toBe(false);
  });

  test("the address is matched without regard to case or surrounding spaces", async () => {
    const who = await person();
    const arrived = mailTo(who.email);

    const res = await api(server, "users.forgotPassword", {
      body: { email: `  ${who.email.toUpperCase()} ` },
    });

    expect(res.body).toEqual({ success: true });
    handled.add(await arrived);
  });

  test("without an e-mail, or with password reset turned off, Rocket.Chat's 400s", async () => {
    const missing = await api(server, "users.forgotPassword", { body: {} });
    const notText = await api(server, "users.forgotPassword", { body: { email: 42 } });
    await setSettings(server, { Accounts_PasswordReset: false });
    const off = await api(server, "users.forgotPassword", { body: { email: "a@example.com" } });
    await setSettings(server, { Accounts_PasswordReset: true });

    const required = { success: false, error: "The 'email' param is required" };
    expect([missing.status, missing.body]).toEqual([400, required]);
    expect([notText.status, notText.body]).toEqual([400, required]);
    expect(off.status).toBe(400);
    expect(off.body).toEqual({ success: false, error: "Password reset is not enabled" });
    expect(off.headers.get("content-type")).toBe("application/json");
  });
});

describe("sendForgotPasswordEmail over DDP", () => {
  test("answers true and mails the link, for a known address and an unknown one alike", async () => {
    const who = await person();
    const client = await clients.connect(server);
    const arrived = mailTo(who.email);

    const known = await client.call("sendForgotPasswordEmail", who.email);
    const unknown = await client.call("sendForgotPasswordEmail", "ghost@example.com");

    expect(known.result).toBe(true);
    expect(unknown.result).toBe(true);
    const mail = await arrived;
    handled.add(mail);
    expect(String(mail.html)).toContain("https://chat.example.com/reset-password/");
  });

  test("a parameter that is not a string fails Meteor's check", async () => {
    const client = await clients.connect(server);

    const answer = await client.call("sendForgotPasswordEmail", { email: "x@example.com" });

    expect(answer.error).toMatchObject({ error: 400, reason: "Match failed" });
  });
});

describe("pw.getPolicyReset", () => {
  test("answers the password policy to the holder of a reset token, 401 to anyone else", async () => {
    const who = await person();
    const { token } = await requestReset(who);
    await setSettings(server, { Accounts_Password_Policy_Enabled: true });

    const right = await api(server, "pw.getPolicyReset", { query: { token } });
    const wrong = await api(server, "pw.getPolicyReset", { query: { token: `${token}x` } });
    const none = await api(server, "pw.getPolicyReset");
    const policy = await api(server, "pw.getPolicy", { auth: who.credentials });
    await setSettings(server, { Accounts_Password_Policy_Enabled: false });

    expect(right.status).toBe(200);
    expect(right.body).toEqual(policy.body);
    expect(right.body.enabled).toBe(true);
    expect([wrong.status, wrong.body]).toEqual([401, { success: false, error: "unauthorized" }]);
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });
});

describe("resetPassword over DDP", () => {
  test("sets the new password, logs the caller in and ends every other login", async () => {
    const who = await person();
    const other = await clients.connect(server);
    await other.resume(who.credentials.authToken);
    const otherClosed = closed(other.socket);
    const { token } = await requestReset(who);
    const client = await clients.connect(server);

    const answer = await client.call("resetPassword", token, "a new secret");

    const result = answer.result as Record<string, unknown>;
    expect(result).toEqual({
      id: who._id,
      token: expect.any(String),
      tokenExpires: new Date(now + 90 * 24 * 60 * 60 * 1000),
      type: "password",
    });
    const rooms = await client.call("rooms/get");
    expect(rooms.error).toBeUndefined();
    expect((await otherClosed).reason).toBe("Logged out");
    expect((await api(server, "me", { auth: who.credentials })).status).toBe(401);
    const fresh = { userId: who._id, authToken: result.token as string };
    expect((await api(server, "me", { auth: fresh })).body.username).toBe(who.username);
    expect(await loginStatus(who.username, who.password)).toBe(401);
    expect(await loginStatus(who.username, "a new secret")).toBe(200);
    const stored = await storedUser(who._id);
    expect(stored?.services?.password?.reset).toBeUndefined();
    expect(stored?.emails).toEqual([{ address: who.email, verified: true }]);
  });

  test("takes the password as Meteor clients send it, a SHA-256 digest", async () => {
    const who = await person();
    const { token } = await requestReset(who);
    const client = await clients.connect(server);

    const answer = await client.call("resetPassword", token, {
      digest: sha256("digest secret"),
      algorithm: "sha-256",
    });

    expect(answer.error).toBeUndefined();
    expect(await loginStatus(who.username, "digest secret")).toBe(200);
  });

  test("a token works once, and a wrong one is refused with Token expired", async () => {
    const who = await person();
    const { token } = await requestReset(who);
    const client = await clients.connect(server);
    await client.call("resetPassword", token, "first choice");

    const again = await client.call("resetPassword", token, "second choice");
    const wrong = await client.call("resetPassword", "not-a-token", "second choice");

    const expired = { error: 403, reason: "Token expired", message: "Token expired [403]" };
    expect(again.error).toMatchObject({ ...expired, errorType: "Meteor.Error" });
    expect(wrong.error).toMatchObject(expired);
    expect(await loginStatus(who.username, "first choice")).toBe(200);
  });

  test("a password changed another way voids the links mailed before", async () => {
    const [byAdmin, bySelf] = [await person(), await person()];
    const first = await requestReset(byAdmin);
    const second = await requestReset(bySelf);
    const changed = await api(server, "users.update", {
      auth: server.admin,
      body: { userId: byAdmin._id, data: { password: "set-by-admin-1" } },
    });
    const own = await api(server, "users.updateOwnBasicInfo", {
      auth: bySelf.credentials,
      body: { data: { currentPassword: sha256(bySelf.password), newPassword: "changed-myself-1" } },
    });
    const client = await clients.connect(server);

    const late = await client.call("resetPassword", first.token, "from-old-link-1");
    const lateToo = await client.call("resetPassword", second.token, "from-old-link-2");

    expect([changed.status, own.status]).toEqual([200, 200]);
    expect(late.error).toMatchObject({ error: 403, reason: "Token expired" });
    expect(lateToo.error).toMatchObject({ error: 403, reason: "Token expired" });
    expect(await loginStatus(byAdmin.username, "set-by-admin-1")).toBe(200);
    expect(await loginStatus(bySelf.username, "changed-myself-1")).toBe(200);
  });

  test("a token older than three days is refused and changes nothing", async () => {
    const who = await person();
    const { token } = await requestReset(who);
    now += 3 * 24 * 60 * 60 * 1000 + 1000;
    const client = await clients.connect(server);

    const answer = await client.call("resetPassword", token, "too late");

    expect(answer.error).toMatchObject({ error: 403, reason: "Token expired" });
    expect(await loginStatus(who.username, who.password)).toBe(200);
    expect(await loginStatus(who.username, "too late")).toBe(401);
  });

  test("a new password the policy refuses is refused, and the token still works", async () => {
    const who = await person();
    const { token } = await requestReset(who);
    await setSettings(server, {
      Accounts_Password_Policy_Enabled: true,
      Accounts_Password_Policy_MinLength: 12,
    });
    const client = await clients.connect(server);

    const short = await client.call("resetPassword", token, "short");
    await setSettings(server, { Accounts_Password_Policy_Enabled: false });
    const fine = await client.call("resetPassword", token, "short");

    expect(short.error).toMatchObject({
      error: "error-password-policy-not-met",
      details: expect.arrayContaining([
        expect.objectContaining({ error: "error-password-policy-not-met-minLength" }),
      ]),
    });
    expect(fine.error).toBeUndefined();
  });

  test("parameters of the wrong type fail Meteor's check without touching the account", async () => {
    const who = await person();
    const { token } = await requestReset(who);
    const client = await clients.connect(server);

    const noPassword = await client.call("resetPassword", token);
    const numberToken = await client.call("resetPassword", 42, "whatever");
    const badDigest = await client.call("resetPassword", token, { digest: 5, algorithm: "md5" });

    for (const answer of [noPassword, numberToken, badDigest]) {
      expect(answer.error).toMatchObject({ error: 400, reason: "Match failed" });
    }
    const stored = await storedUser(who._id);
    expect(stored?.services?.password?.reset?.token).toBe(token);
  });

  test("REST's method.callAnon runs it too, answering the login in EJSON", async () => {
    const who = await person();
    const { token } = await requestReset(who);
    const message = JSON.stringify({
      msg: "method",
      method: "resetPassword",
      params: [token, "through rest"],
      id: "9",
    });

    const res = await api(server, "method.callAnon/resetPassword", { body: { message } });

    expect(res.status).toBe(200);
    const frame = JSON.parse(res.body.message);
    expect(frame.result).toMatchObject({ id: who._id, type: "password" });
    expect(await loginStatus(who.username, "through rest")).toBe(200);
  });
});
