/**
 * TOTP two-factor authentication over real HTTP and WebSockets, on a server outside test
 * mode whose clock the tests move: the RFC 6238 algorithm against its published vectors,
 * enrolment over DDP and REST's method.call, logins with and without a code on both
 * transports, backup codes, regeneration and turning TOTP off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseEJSON, stringifyEJSON } from "../core/ejson.ts";
import { totpCode, verifyTotp } from "../services/totp.ts";
import { Clients, sha256 } from "./ddp-helpers.ts";
import {
  api,
  type Credentials,
  createUser,
  login,
  startTestServer,
  type TestServer,
} from "./helpers.ts";

/** The server's clock, which only the tests move. */
let now = Date.parse("2026-03-02T10:00:05Z");
let server: TestServer;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer({
    testMode: false,
    clock: { now: () => new Date(now) },
    // These tests log in far more often than the REST rate limiter allows.
    env: { API_Enable_Rate_Limiter: "false" },
  });
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** The TOTP code of `secret` on the server's clock, `steps` steps away. */
function codeAt(secret: string, steps = 0): Promise<string> {
  return totpCode(secret, new Date(now + steps * 30_000));
}

/** A new user, logged in, with their password. */
async function person() {
  const { user, credentials, password } = await createUser(server);
  return { ...user, credentials, password };
}

type Person = Awaited<ReturnType<typeof person>>;

/** Calls `method` over the REST tunnel as `auth` and returns the parsed result frame. */
async function tunnel(method: string, params: unknown[], auth: Credentials) {
  const message = stringifyEJSON({ msg: "method", method, params, id: "7" });
  const res = await api(server, `method.call/${method}`, { body: { message }, auth });
  return parseEJSON(res.body.message) as Record<string, any>;
}

/** Enrols `who` in TOTP over DDP; resolves with the secret and the backup codes. */
async function enrol(who: Person) {
  const client = await clients.connect(server);
  await client.resume(who.credentials.authToken);
  const { secret } = (await client.call("2fa:enable")).result as { secret: string };
  const confirmed = await client.call("2fa:validateTempToken", await codeAt(secret));
  return { secret, codes: (confirmed.result as { codes: string[] }).codes, client };
}

/** Logs in over REST with `body`, answering the HTTP response. */
function restLogin(body: Record<string, unknown>, headers?: Record<string, string>) {
  return fetch(`${server.url}/api/v1/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, body: await res.json() }));
}

describe("TOTP codes", () => {
  // RFC 6238, appendix B, SHA-1 rows, last six digits; the key is "12345678901234567890".
  const key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

  test.each([
    [59, "287082"],
    [1111111109, "081804"],
    [1111111111, "050471"],
    [1234567890, "005924"],
    [2000000000, "279037"],
    [20000000000, "353130"],
  ])("at %p seconds the code is %p", async (seconds, code) => {
    expect(await totpCode(key, new Date(seconds * 1000))).toBe(code);
  });

  test("a code of the step before or after is accepted, two steps away is not", async () => {
    const at = new Date(1111111111 * 1000);
    const before = await totpCode(key, new Date(at.getTime() - 30_000));
    const twoBefore = await totpCode(key, new Date(at.getTime() - 60_000));

    expect(await verifyTotp(key, before, at, 1)).toBe(true);
    expect(await verifyTotp(key, twoBefore, at, 1)).toBe(false);
    expect(await verifyTotp(key, before, at, 0)).toBe(false);
    expect(await verifyTotp(key, "05047a", at, 1)).toBe(false);
  });
});

describe("enrolment over DDP", () => {
  test("2fa:enable answers a base32 secret and Rocket.Chat's otpauth URL, not yet in force", async () => {
    const who = await person();
    const client = await clients.connect(server);
    await client.resume(who.credentials.authToken);

    const answer = await client.call("2fa:enable");

    const { secret, url } = answer.result as { secret: string; url: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(url).toBe(`otpauth://totp/Rocket.Chat%3A${who.username}?secret=${secret}`);
    const stored = await server.parley.store.collection("users").findOne({ _id: who._id });
    expect(stored?.services).toMatchObject({ totp: { enabled: false, tempSecret: secret } });
    const me = await api(server, "me", { auth: who.credentials });
    expect(me.body.services).toEqual({ email2fa: { enabled: true }, password: { exists: true } });
  });

  test("a wrong code does not confirm the enrolment", async () => {
    const who = await person();
    const client = await clients.connect(server);
    await client.resume(who.credentials.authToken);
    const { secret } = (await client.call("2fa:enable")).result as { secret: string };

    const answer = await client.call("2fa:validateTempToken", await codeAt(secret, -2));

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: "invalid-totp",
      message: "[invalid-totp]",
      errorType: "Meteor.Error",
    });
    const me = await api(server, "me", { auth: who.credentials });
    expect(me.body.services).toEqual({ email2fa: { enabled: true }, password: { exists: true } });
  });

  test("confirming answers twelve backup codes, stored only as SHA-256 digests", async () => {
    const who = await person();

    const { secret, codes } = await enrol(who);

    expect(codes).toHaveLength(12);
    for (const code of codes) expect(code).toMatch(/^[2-9A-HJ-NP-Za-km-z]{8}$/);
    const stored = await server.parley.store.collection("users").findOne({ _id: who._id });
    expect(stored?.services).toMatchObject({
      totp: { enabled: true, secret, hashedBackup: codes.map(sha256) },
    });
    expect(JSON.stringify(stored)).not.toContain(codes[0] as string);
    const me = await api(server, "me", { auth: who.credentials });
    expect(me.body.services).toEqual({
      email2fa: { enabled: true },
      totp: { enabled: true },
      password: { exists: true },
    });
  });

  test("enabling again while TOTP is on is refused", async () => {
    const who = await person();
    const { client } = await enrol(who);

    const answer = await client.call("2fa:enable");

    expect(answer.error).toMatchObject({ error: "error-2fa-already-enabled" });
  });

  test("confirming logs out the user's other sessions and keeps the caller's", async () => {
    const who = await person();
    const other = await login(server, who.username, who.password);

    await enrol(who);

    expect((await api(server, "me", { auth: other })).status).toBe(401);
    expect((await api(server, "me", { auth: who.credentials })).status).toBe(200);
  });

  test("an anonymous caller is refused with not-authorized", async () => {
    const client = await clients.connect(server);

    const answer = await client.call("2fa:checkCodesRemaining");

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: "not-authorized",
      message: "[not-authorized]",
      errorType: "Meteor.Error",
    });
  });
});

describe("login with TOTP", () => {
  let who: Person;
  let secret: string;
  let codes: string[];

  beforeAll(async () => {
    who = await person();
    ({ secret, codes } = await enrol(who));
  });

  test("REST login without a code answers totp-required", async () => {
    const res = await restLogin({ user: who.username, password: who.password });

    expect(res).toEqual({
      status: 401,
      body: {
        status: "error",
        error: "totp-required",
        details: { method: "totp", codeGenerated: false, availableMethods: ["totp"] },
        message: "TOTP Required",
        success: false,
      },
    });
  });

  test("REST login with a wrong code answers totp-invalid", async () => {
    const code = await codeAt(secret, -3);

    const res = await restLogin({ user: who.username, password: who.password, code });

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: "totp-invalid", message: "TOTP Invalid" });
  });

  test("REST login with the current code, or the code of the step before, succeeds", async () => {
    const current = await restLogin({
      user: who.username,
      password: who.password,
      code: await codeAt(secret),
    });
    const previous = await restLogin({
      username: who.username,
      password: { hashed: sha256(who.password) },
      code: await codeAt(secret, -1),
    });

    expect(current.status).toBe(200);
    expect(previous.status).toBe(200);
    expect(current.body.data.me.services).toEqual({
      email2fa: { enabled: true },
      totp: { enabled: true },
      password: { exists: true },
    });
  });

  test("REST login takes the code from the x-2fa-code header too", async () => {
    const res = await restLogin(
      { user: who.username, password: who.password },
      { "x-2fa-code": await codeAt(secret) },
    );

    expect(res.status).toBe(200);
  });

  test("DDP login without a code fails with totp-required and its details", async () => {
    const client = await clients.connect(server);

    const answer = await client.call("login", {
      user: { username: who.username },
      password: { digest: sha256(who.password), algorithm: "sha-256" },
    });

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: "totp-required",
      reason: "TOTP Required",
      message: "TOTP Required [totp-required]",
      errorType: "Meteor.Error",
      details: { method: "totp", codeGenerated: false, availableMethods: ["totp"] },
    });
  });

  test("DDP login with totp {login, code} succeeds, and with a wrong code fails", async () => {
    const client = await clients.connect(server);
    const credentials = {
      user: { username: who.username },
      password: { digest: sha256(who.password), algorithm: "sha-256" },
    };

    const wrong = await client.call("login", { totp: { login: credentials, code: "000000" } });
    const right = await client.call("login", {
      totp: { login: credentials, code: await codeAt(secret, 1) },
    });

    expect(wrong.error).toMatchObject({ error: "totp-invalid", reason: "TOTP Invalid" });
    expect(right.result).toMatchObject({ id: who._id, type: "password" });
  });

  test("a resume login needs no code", async () => {
    const client = await clients.connect(server);

    const answer = await client.resume(who.credentials.authToken);

    expect(answer.result).toMatchObject({ id: who._id, type: "resume" });
  });

  test("a backup code logs in once, and then it is used up", async () => {
    const code = codes[0] as string;

    const first = await restLogin({ user: who.username, password: who.password, code });
    const second = await restLogin({ user: who.username, password: who.password, code });

    expect(first.status).toBe(200);
    expect(second.body).toMatchObject({ error: "totp-invalid" });
    const left = await tunnel("2fa:checkCodesRemaining", [], who.credentials);
    expect(left.result).toEqual({ remaining: 11 });
  });
});

describe("managing TOTP over method.call", () => {
  test("regenerating needs a valid code and replaces every backup code", async () => {
    const who = await person();
    const { secret, codes } = await enrol(who);

    const refused = await tunnel("2fa:regenerateCodes", ["123456"], who.credentials);
    const renewed = await tunnel("2fa:regenerateCodes", [await codeAt(secret)], who.credentials);

    expect(refused).toEqual({ msg: "result", id: "7" });
    const fresh = renewed.result.codes as string[];
    expect(fresh).toHaveLength(12);
    const old = await restLogin({ user: who.username, password: who.password, code: codes[1] });
    expect(old.body).toMatchObject({ error: "totp-invalid" });
    const renewedCode = await restLogin({
      user: who.username,
      password: who.password,
      code: fresh[0],
    });
    expect(renewedCode.status).toBe(200);
  });

  test("disabling needs a valid code; afterwards login needs none", async () => {
    const who = await person();
    const { secret } = await enrol(who);

    const refused = await tunnel("2fa:disable", ["999999"], who.credentials);
    const done = await tunnel("2fa:disable", [await codeAt(secret)], who.credentials);

    expect(refused.result).toBe(false);
    expect(done.result).toBe(true);
    const res = await restLogin({ user: who.username, password: who.password });
    expect(res.status).toBe(200);
    const remaining = await tunnel("2fa:checkCodesRemaining", [], who.credentials);
    expect(remaining.error).toMatchObject({ error: "invalid-totp" });
  });

  test("the TOTP window follows Accounts_TwoFactorAuthentication_MaxDelta at once", async () => {
    const who = await person();
    const { secret } = await enrol(who);
    const admin = server.admin;
    await api(server, "settings/Accounts_TwoFactorAuthentication_MaxDelta", {
      auth: admin,
      body: { value: 0 },
    });

    const previous = await restLogin({
      user: who.username,
      password: who.password,
      code: await codeAt(secret, -1),
    });

    await api(server, "settings/Accounts_TwoFactorAuthentication_MaxDelta", {
      auth: admin,
      body: { value: 1 },
    });
    expect(previous.body).toMatchObject({ error: "totp-invalid" });
  });
});

describe("test mode", () => {
  test("lets a TOTP user log in without a code, as Rocket.Chat's test mode does", async () => {
    const testServer = await startTestServer();
    try {
      const { user, credentials, password } = await createUser(testServer);
      const client = await loggedInClient(testServer, credentials);
      const { secret } = (await client.call("2fa:enable")).result as { secret: string };
      await client.call("2fa:validateTempToken", await totpCode(secret, new Date()));

      const res = await login(testServer, user.username, password);

      expect(res.userId).toBe(user._id);
    } finally {
      await testServer.stop();
    }
  });
});

/** A raw DDP client of `target`, logged in with `credentials`. */
async function loggedInClient(target: TestServer, credentials: Credentials) {
  const client = await clients.connect(target);
  await client.resume(credentials.authToken);
  return client;
}
