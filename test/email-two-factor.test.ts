/**
 * Two-factor authentication by e-mail over real HTTP and WebSockets, on a server outside
 * test mode whose clock the tests move, with a real SMTP server on loopback receiving the
 * codes: logins on both transports, a protected REST route with `x-2fa-code` and
 * `x-2fa-method: email`, the users.2fa.* routes and the sendEmailCode method, and codes
 * that expire, are used up and wear out after too many wrong attempts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ParsedMail } from "mailparser";
import type { User } from "../core/models.ts";
import { totpCode } from "../services/totp.ts";
import { Clients, sha256 } from "./ddp-helpers.ts";
import {
  api,
  type Credentials,
  PRODUCTION_ADMIN,
  startTestServer,
  type TestServer,
} from "./helpers.ts";
import { addresses, type Inbox, startInbox, useInbox } from "./smtp-helpers.ts";

/** The server's clock, which only the tests move. */
let now = Date.parse("2026-05-04T08:00:00Z");
let server: TestServer;
let inbox: Inbox;
const clients = new Clients();
let counter = 0;

beforeAll(async () => {
  server = await startTestServer({
    testMode: false,
    clock: { now: () => new Date(now) },
    // These tests log in far more often than the REST rate limiter allows.
    env: { API_Enable_Rate_Limiter: "false" },
  });
  inbox = await startInbox();
  await useInbox(server, inbox);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
  await inbox.close();
});

/**
 * Sets workspace settings as the first administrator, who gives their password as the
 * second factor the settings route asks for.
 */
async function setSettings(values: Record<string, string | number | boolean>) {
  const headers = { "x-2fa-code": sha256(PRODUCTION_ADMIN.password), "x-2fa-method": "password" };
  for (const [id, value] of Object.entries(values)) {
    const res = await fetch(`${server.url}/api/v1/settings/${id}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-User-Id": server.admin.userId,
        "X-Auth-Token": server.admin.authToken,
        ...headers,
      },
      body: JSON.stringify({ value }),
    });
    expect(res.status).toBe(200);
  }
}

/** User `uid` as the store holds it. */
async function storedUser(uid: string): Promise<User | null> {
  return (await server.parley.store.collection("users").findOne({ _id: uid })) as User | null;
}

/** Mails already read by a test, so that the next wait is for a new one. */
const read = new Set<ParsedMail>();

/** The code in the next unread mail to `email`, as digits. */
async function nextCode(email: string): Promise<{ code: string; mail: ParsedMail }> {
  const mail = await inbox.next((m) => addresses(m.to) === email && !read.has(m));
  read.add(mail);
  const shown = String(mail.text).match(/\b(\d{3})-(\d{3})\b/);
  return { code: `${shown?.[1]}${shown?.[2]}`, mail };
}

/** Logs in over REST with `body` and `headers`, answering status and body. */
async function restLogin(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/api/v1/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** POSTs to a REST route as `auth`, with extra headers. */
async function post(path: string, auth: Credentials | null, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/api/v1/${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(auth && { "X-User-Id": auth.userId, "X-Auth-Token": auth.authToken }),
      ...headers,
    },
    body: "{}",
  });
  return { status: res.status, type: res.headers.get("content-type"), body: await res.json() };
}

/**
 * A new user with a verified address, so e-mail two-factor authentication (on for new
 * users by default) is in force, logged in with the code their login mailed them.
 */
async function person(verified = true) {
  counter += 1;
  const username = `mail.2fa.${counter}`;
  const email = `${username}@example.com`;
  const password = "correct horse";
  const created = await api(server, "users.create", {
    auth: server.admin,
    body: { username, email, name: username, password, verified },
  });
  expect(created.status).toBe(200);
  const first = await restLogin({ user: username, password });
  const code = verified ? (await nextCode(email)).code : undefined;
  const res = code ? await restLogin({ user: username, password, code }) : first;
  expect(res.status).toBe(200);
  const credentials = { userId: res.body.data.userId, authToken: res.body.data.authToken };
  return { _id: created.body.user._id as string, username, email, password, credentials };
}

describe("login with an e-mail code", () => {
  test("while no SMTP server is configured no code is asked for, since none could arrive", async () => {
    const who = await person();

    await setSettings({ SMTP_Host: "" });
    const res = await restLogin({ user: who.username, password: who.password });
    await useInbox(server, inbox);
    const again = await restLogin({ user: who.username, password: who.password });
    await nextCode(who.email);

    expect(res.status).toBe(200);
    expect(res.body.data.userId).toBe(who._id);
    expect(again.body.error).toBe("totp-required");
  });

  test("a password login without a code mails one and is refused as Rocket.Chat refuses it", async () => {
    const who = await person();

    const res = await restLogin({ user: who.username, password: who.password });
    const { code, mail } = await nextCode(who.email);

    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      status: "error",
      error: "totp-required",
      details: {
        method: "email",
        codeGenerated: true,
        emailOrUsername: who.username,
        availableMethods: ["email"],
      },
      message: "TOTP Required",
      success: false,
    });
    expect(mail.subject).toBe("Authentication code");
    expect(addresses(mail.from)).toContain("chat@parley.example.com");
    expect(code).toMatch(/^\d{6}$/);
  });

  test("the code is stored only as a bcrypt hash, with its expiry and no attempts yet", async () => {
    const who = await person();

    await restLogin({ user: who.username, password: who.password });
    const { code } = await nextCode(who.email);

    const stored = await storedUser(who._id);
    const emailCode = stored?.services?.emailCode;
    expect(emailCode).toEqual({
      code: expect.stringMatching(/^\$2[aby]\$10\$/),
      expire: new Date(now + 3600 * 1000),
      attempts: 0,
    });
    expect(JSON.stringify(stored)).not.toContain(code);
  });

  test("asking again while a code is valid mails none and tells when it expires", async () => {
    const who = await person();
    await restLogin({ user: who.username, password: who.password });
    await nextCode(who.email);

    const again = await restLogin({ user: who.username, password: who.password });

    expect(again.body.details).toEqual({
      method: "email",
      emailOrUsername: who.username,
      codeGenerated: false,
      codeExpires: new Date(now + 3600 * 1000).toISOString(),
      availableMethods: ["email"],
    });
  });

  test("the mailed code logs in once, written with or without its dash; a used code is invalid", async () => {
    const who = await person();
    await restLogin({ user: who.username, password: who.password });
    const { code } = await nextCode(who.email);

    const dashed = `${code.slice(0, 3)}-${code.slice(3)}`;
    const ok = await restLogin({ user: who.username, password: who.password, code: dashed });
    const reused = await restLogin({ user: who.username, password: who.password, code });
    const fresh = await nextCode(who.email);
    const header = await restLogin(
      { user: who.username, password: who.password },
      { "x-2fa-code": fresh.code },
    );

    expect(ok.status).toBe(200);
    expect(ok.body.data.me.services).toEqual({
      email2fa: { enabled: true },
      password: { exists: true },
    });
    expect(reused.status).toBe(401);
    expect(reused.body).toMatchObject({ error: "totp-invalid", message: "TOTP Invalid" });
    expect(reused.body.details).toMatchObject({ method: "email", codeGenerated: true });
    expect(header.status).toBe(200);
  });

  test("an expired code is refused and a new one is mailed", async () => {
    const who = await person();
    await restLogin({ user: who.username, password: who.password });
    const { code } = await nextCode(who.email);
    now += 3600 * 1000 + 1000;

    const late = await restLogin({ user: who.username, password: who.password, code });
    const fresh = await nextCode(who.email);
    const retry = await restLogin({ user: who.username, password: who.password, code: fresh.code });

    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ error: "totp-invalid", details: { codeGenerated: true } });
    expect(fresh.code).not.toBe(code);
    expect(retry.status).toBe(200);
  });

  test("the expiry follows Accounts_TwoFactorAuthentication_By_Email_Code_Expiration", async () => {
    const who = await person();
    await setSettings({ Accounts_TwoFactorAuthentication_By_Email_Code_Expiration: 60 });

    await restLogin({ user: who.username, password: who.password });
    const { code } = await nextCode(who.email);
    now += 61 * 1000;
    const late = await restLogin({ user: who.username, password: who.password, code });
    await setSettings({ Accounts_TwoFactorAuthentication_By_Email_Code_Expiration: 3600 });

    expect(late.body.error).toBe("totp-invalid");
    read.add(await inbox.next((m) => addresses(m.to) === who.email && !read.has(m)));
  });

  test("too many wrong codes answer totp-max-attempts, and the next try mails a new code", async () => {
    const who = await person();
    await setSettings({
      Accounts_TwoFactorAuthentication_Max_Invalid_Email_Code_Attempts: 2,
    });
    await restLogin({ user: who.username, password: who.password });
    const { code } = await nextCode(who.email);
    const wrong = code === "000000" ? "111111" : "000000";

    const first = await restLogin({ user: who.username, password: who.password, code: wrong });
    const second = await restLogin({ user: who.username, password: who.password, code: wrong });
    const worn = await restLogin({ user: who.username, password: who.password, code });
    const fresh = await nextCode(who.email);
    await setSettings({
      Accounts_TwoFactorAuthentication_Max_Invalid_Email_Code_Attempts: 5,
    });
    const retry = await restLogin({ user: who.username, password: who.password, code: fresh.code });

    expect(first.body.error).toBe("totp-invalid");
    expect(second.body).toMatchObject({
      error: "totp-max-attempts",
      message: "TOTP Maximun Failed Attempts Reached",
      details: { method: "email", codeGenerated: false },
    });
    expect(worn.body).toMatchObject({ error: "totp-invalid", details: { codeGenerated: true } });
    expect(retry.status).toBe(200);
  });

  test("checks racing each other compare no more codes than the limit allows", async () => {
    const who = await person();
    await restLogin({ user: who.username, password: who.password });
    const { code } = await nextCode(who.email);
    const wrong = code === "000000" ? "111111" : "000000";
    const user = (await storedUser(who._id)) as User;
    const email = server.parley.services.twoFactor.email;

    const verdicts = await Promise.all(Array.from({ length: 8 }, () => email.verify(user, wrong)));
    const late = await email.verify(user, code);

    expect(verdicts).toEqual(Array(8).fill(false));
    expect((await storedUser(who._id))?.services?.emailCode?.attempts).toBe(5);
    expect(late).toBe(false);
  });

  test("DDP login answers totp-required with the details in EJSON, and accepts the code in totp", async () => {
    const who = await person();
    const client = await clients.connect(server);
    const credentials = {
      user: { username: who.username },
      password: { digest: sha256(who.password), algorithm: "sha-256" },
    };

    const refused = await client.call("login", credentials);
    const { code } = await nextCode(who.email);
    const again = await client.call("login", credentials);
    const accepted = await client.call("login", { totp: { login: credentials, code } });

    expect(refused.error).toMatchObject({
      error: "totp-required",
      reason: "TOTP Required",
      details: { method: "email", codeGenerated: true, availableMethods: ["email"] },
    });
    expect((again.error as { details: { codeExpires: unknown } }).details.codeExpires).toEqual(
      new Date(now + 3600 * 1000),
    );
    expect(accepted.result).toMatchObject({ id: who._id, type: "password" });
  });

  test("with the method turned off in the settings, no code is asked", async () => {
    const who = await person();
    await setSettings({ Accounts_TwoFactorAuthentication_By_Email_Enabled: false });

    const res = await restLogin({ user: who.username, password: who.password });
    await setSettings({ Accounts_TwoFactorAuthentication_By_Email_Enabled: true });

    expect(res.status).toBe(200);
  });
});

describe("changing one's own e-mail or password", () => {
  test("asks for the mailed code, however recently a factor was given, and changes nothing without it", async () => {
    const who = await person();
    const change = (data: Record<string, unknown>, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/v1/users.updateOwnBasicInfo`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-User-Id": who.credentials.userId,
          "X-Auth-Token": who.credentials.authToken,
          ...headers,
        },
        body: JSON.stringify({ data }),
      }).then(async (res) => ({ status: res.status, body: await res.json() }));
    const currentPassword = sha256(who.password);

    const email = await change({ currentPassword, email: "elsewhere@example.com" });
    const { code } = await nextCode(who.email);
    const password = await change({ currentPassword, newPassword: "another secret" });
    const name = await change({ name: "Only A Name" });
    const unchanged = await storedUser(who._id);
    const done = await change(
      { currentPassword, email: "elsewhere@example.com" },
      { "x-2fa-code": code, "x-2fa-method": "email" },
    );

    expect(email.status).toBe(400);
    expect(email.body.errorType).toBe("totp-required");
    expect(email.body.details).toMatchObject({ method: "email", codeGenerated: true });
    expect(password.body.errorType).toBe("totp-required");
    expect(name.status).toBe(200);
    expect(unchanged?.emails).toEqual([{ address: who.email, verified: true }]);
    expect(await restLogin({ user: who.username, password: "another secret" })).toMatchObject({
      status: 401,
    });
    expect(done.status).toBe(200);
    expect((await storedUser(who._id))?.emails?.[0]?.address).toBe("elsewhere@example.com");
  });
});

describe("users.2fa.enableEmail and users.2fa.disableEmail", () => {
  test("disabling asks for a mailed code in x-2fa-code with x-2fa-method email", async () => {
    const who = await person();

    const refused = await post("users.2fa.disableEmail", who.credentials);
    const { code } = await nextCode(who.email);
    const wrong = await post("users.2fa.disableEmail", who.credentials, {
      "x-2fa-code": code === "123456" ? "654321" : "123456",
      "x-2fa-method": "email",
    });
    const done = await post("users.2fa.disableEmail", who.credentials, {
      "x-2fa-code": code,
      "x-2fa-method": "email",
    });
    const me = await api(server, "me", { auth: who.credentials });

    expect(refused.status).toBe(400);
    expect(refused.type).toBe("application/json");
    expect(refused.body).toEqual({
      success: false,
      error: "TOTP Required [totp-required]",
      errorType: "totp-required",
      details: {
        method: "email",
        codeGenerated: true,
        emailOrUsername: who.username,
        availableMethods: ["email"],
      },
    });
    expect(wrong.body).toMatchObject({ success: false, errorType: "totp-invalid" });
    expect(done.body).toEqual({ success: true });
    expect(me.body.services).toEqual({ password: { exists: true } });
    const login = await restLogin({ user: who.username, password: who.password });
    expect(login.status).toBe(200);
  });

  test("enabling turns the method back on and ends the caller's other logins", async () => {
    const who = await person();
    const refused = await post("users.2fa.disableEmail", who.credentials);
    const { code } = await nextCode(who.email);
    await post("users.2fa.disableEmail", who.credentials, {
      "x-2fa-code": code,
      "x-2fa-method": "email",
    });
    const other = await restLogin({ user: who.username, password: who.password });
    const otherAuth = { userId: who._id, authToken: other.body.data.authToken };

    const enabled = await post("users.2fa.enableEmail", who.credentials);

    expect(refused.status).toBe(400);
    expect(enabled.body).toEqual({ success: true });
    expect((await api(server, "me", { auth: otherAuth })).status).toBe(401);
    const me = await api(server, "me", { auth: who.credentials });
    expect(me.body.services.email2fa).toEqual({ enabled: true });
    const stored = await storedUser(who._id);
    expect(stored?.services?.email2fa).toEqual({ enabled: true, changedAt: new Date(now) });
  });

  test("enabling with an unverified address is refused, and changes nothing", async () => {
    const who = await person(false);
    await post("users.2fa.disableEmail", who.credentials, {
      "x-2fa-code": sha256(who.password),
      "x-2fa-method": "password",
    });

    const res = await post("users.2fa.enableEmail", who.credentials);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "You need to verify your emails before setting up 2FA [error-invalid-user]",
      errorType: "error-invalid-user",
    });
    const stored = await storedUser(who._id);
    expect(stored?.services?.email2fa?.enabled).toBe(false);
  });

  test("a user with TOTP too is asked for TOTP, and may choose e-mail with x-2fa-method", async () => {
    const who = await person();
    const client = await clients.connect(server);
    await client.resume(who.credentials.authToken);
    const { secret } = (await client.call("2fa:enable")).result as { secret: string };
    await client.call("2fa:validateTempToken", await totpCode(secret, new Date(now)));
    const mailsTo = () => inbox.mails.filter((m) => addresses(m.to) === who.email).length;
    const mailsBefore = mailsTo();

    const totp = await post("users.2fa.disableEmail", who.credentials);
    const chosen = await post("users.2fa.disableEmail", who.credentials, {
      "x-2fa-method": "email",
    });
    const { code } = await nextCode(who.email);
    const done = await post("users.2fa.disableEmail", who.credentials, {
      "x-2fa-code": code,
      "x-2fa-method": "email",
    });

    expect(totp.body.details).toEqual({
      method: "totp",
      codeGenerated: false,
      availableMethods: ["totp", "email"],
    });
    // Only the request that chose e-mail mailed a code.
    expect(mailsTo()).toBe(mailsBefore + 1);
    expect(chosen.body.details).toMatchObject({ method: "email", codeGenerated: true });
    expect(done.body).toEqual({ success: true });
  });

  test("both need a login", async () => {
    const enable = await post("users.2fa.enableEmail", null);
    const disable = await post("users.2fa.disableEmail", null);

    expect(enable.status).toBe(401);
    expect(disable.status).toBe(401);
  });
});

describe("users.2fa.sendEmailCode and sendEmailCode", () => {
  test("REST mails a code to the user named by username or e-mail, which then logs in", async () => {
    const who = await person();

    const byName = await api(server, "users.2fa.sendEmailCode", {
      body: { emailOrUsername: who.username },
    });
    const first = await nextCode(who.email);
    const byEmail = await api(server, "users.2fa.sendEmailCode", {
      body: { emailOrUsername: who.email.toUpperCase() },
    });
    const second = await nextCode(who.email);
    const stale = await restLogin({ user: who.username, password: who.password, code: first.code });
    const login = await restLogin({
      user: who.username,
      password: who.password,
      code: second.code,
    });

    expect(byName.body).toEqual({ success: true });
    expect(byEmail.body).toEqual({ success: true });
    expect(second.code).toMatch(/^\d{6}$/);
    expect(stale.body.error).toBe("totp-invalid");
    expect(login.status).toBe(200);
  });

  test("REST answers success for an unknown user, and 400 without emailOrUsername", async () => {
    const unknown = await api(server, "users.2fa.sendEmailCode", {
      body: { emailOrUsername: "nobody.at.all" },
    });
    const missing = await api(server, "users.2fa.sendEmailCode", { body: {} });

    expect(unknown.body).toEqual({ success: true });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      success: false,
      error: "emailOrUsername is required [error-parameter-required]",
      errorType: "error-parameter-required",
    });
  });

  test("the DDP method mails a code, and refuses unknown users and missing names", async () => {
    const who = await person();
    const client = await clients.connect(server);

    const sent = await client.call("sendEmailCode", who.email);
    const { code } = await nextCode(who.email);
    const unknown = await client.call("sendEmailCode", "nobody.at.all");
    const empty = await client.call("sendEmailCode", "");
    const notText = await client.call("sendEmailCode", 7);

    expect(sent.error).toBeUndefined();
    expect(code).toMatch(/^\d{6}$/);
    expect(unknown.error).toMatchObject({
      error: "error-invalid-user",
      reason: "Invalid user",
      details: { method: "sendEmailCode" },
    });
    expect(empty.error).toMatchObject({
      error: "error-parameter-required",
      reason: "emailOrUsername is required",
    });
    expect(notText.error).toMatchObject({ error: 400, reason: "Match failed" });
  });
});
