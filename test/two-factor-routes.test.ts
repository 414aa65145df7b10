/**
 * The second factor on REST routes that Rocket.Chat marks `twoFactorRequired`, with
 * `settings/:_id` (POST) as the example: the `x-2fa-code`/`x-2fa-method` headers, the
 * password fallback for users without TOTP, remembering a given factor on the login
 * token, and the settings that turn each part off. The server runs outside test mode on a
 * clock only the tests move.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { totpCode } from "../services/totp.ts";
import { Clients, sha256 } from "./ddp-helpers.ts";
import {
  api,
  type Credentials,
  createUser,
  login,
  startTestServer,
  type TestServer,
} from "./helpers.ts";

let now = Date.parse("2026-09-09T09:00:00Z");
let server: TestServer;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer({
    testMode: false,
    clock: { now: () => new Date(now) },
    env: { API_Enable_Rate_Limiter: "false" },
  });
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** Half an hour and a minute: past Accounts_TwoFactorAuthentication_RememberFor (1800 s). */
const PAST_REMEMBER = 31 * 60_000;

/** An administrator created half an hour ago, so that registration no longer vouches for them. */
async function admin() {
  const { user, credentials, password } = await createUser(server, { roles: ["admin"] });
  now += PAST_REMEMBER;
  return { ...user, credentials, password };
}

/** Sets `Site_Name` as `auth` with these extra headers; answers status and body. */
async function changeSiteName(auth: Credentials, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/api/v1/settings/Site_Name`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-User-Id": auth.userId,
      "X-Auth-Token": auth.authToken,
      ...headers,
    },
    body: JSON.stringify({ value: `Parley ${now}` }),
  });
  return { status: res.status, body: await res.json() };
}

/** The headers of a password given as the second factor. */
const byPassword = (password: string) => ({
  "x-2fa-code": sha256(password),
  "x-2fa-method": "password",
});

const passwordFallback = { method: "password", codeGenerated: false, availableMethods: [] };

describe("the password as second factor", () => {
  test("a call without a code is refused with totp-required", async () => {
    const boss = await admin();

    const res = await changeSiteName(boss.credentials);

    expect(res).toEqual({
      status: 400,
      body: {
        success: false,
        error: "TOTP Required [totp-required]",
        errorType: "totp-required",
        details: passwordFallback,
      },
    });
  });

  test("a wrong password is refused with totp-invalid", async () => {
    const boss = await admin();

    const res = await changeSiteName(boss.credentials, byPassword("not-it"));

    expect(res).toEqual({
      status: 400,
      body: {
        success: false,
        error: "TOTP Invalid [totp-invalid]",
        errorType: "totp-invalid",
        details: passwordFallback,
      },
    });
  });

  test("the SHA-256 digest of the password lets the call through", async () => {
    const boss = await admin();

    const res = await changeSiteName(boss.credentials, byPassword(boss.password));

    expect(res).toEqual({ status: 200, body: { success: true } });
    expect(
      (await api(server, "settings.public", { query: { _id: "Site_Name" } })).body.settings,
    ).toEqual([{ _id: "Site_Name", value: `Parley ${now}`, enterprise: false }]);
  });

  test("permissions are checked first: a plain user gets the 403", async () => {
    const { credentials } = await createUser(server);
    now += PAST_REMEMBER;

    const res = await changeSiteName(credentials);

    expect(res.status).toBe(403);
  });
});

describe("remembering a given factor", () => {
  test("the same token, user agent and address need no code for half an hour", async () => {
    const boss = await admin();
    await changeSiteName(boss.credentials, byPassword(boss.password));

    now += 29 * 60_000;
    const remembered = await changeSiteName(boss.credentials);
    now += 2 * 60_000;
    const forgotten = await changeSiteName(boss.credentials);

    expect(remembered.status).toBe(200);
    expect(forgotten.body.errorType).toBe("totp-required");
  });

  test("another user agent or another token must give the factor again", async () => {
    const boss = await admin();
    await changeSiteName(boss.credentials, byPassword(boss.password));
    const otherToken = await login(server, boss.username, boss.password);

    const otherAgent = await changeSiteName(boss.credentials, { "User-Agent": "another/1.0" });
    const otherLogin = await changeSiteName(otherToken);

    expect(otherAgent.body.errorType).toBe("totp-required");
    expect(otherLogin.body.errorType).toBe("totp-required");
  });

  test("a user registered within the remember window needs no code", async () => {
    const { credentials } = await createUser(server, { roles: ["admin"] });

    const res = await changeSiteName(credentials);

    expect(res.status).toBe(200);
  });
});

describe("a user with TOTP", () => {
  test("must give a TOTP code; the password is not accepted instead", async () => {
    const boss = await admin();
    const client = await clients.connect(server);
    await client.resume(boss.credentials.authToken);
    const { secret } = (await client.call("2fa:enable")).result as { secret: string };
    await client.call("2fa:validateTempToken", await totpCode(secret, new Date(now)));

    const withPassword = await changeSiteName(boss.credentials, byPassword(boss.password));
    const withCode = await changeSiteName(boss.credentials, {
      "x-2fa-code": await totpCode(secret, new Date(now)),
      "x-2fa-method": "totp",
    });

    expect(withPassword.body).toEqual({
      success: false,
      error: "TOTP Invalid [totp-invalid]",
      errorType: "totp-invalid",
      details: { method: "totp", codeGenerated: false, availableMethods: ["totp"] },
    });
    expect(withCode.status).toBe(200);
  });
});

describe("settings", () => {
  /** Changes setting `id` as `who`, giving their password as the second factor. */
  async function setAs(
    who: { credentials: Credentials; password: string },
    id: string,
    value: unknown,
  ) {
    const res = await fetch(`${server.url}/api/v1/settings/${id}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-User-Id": who.credentials.userId,
        "X-Auth-Token": who.credentials.authToken,
        ...byPassword(who.password),
      },
      body: JSON.stringify({ value }),
    });
    expect(res.status).toBe(200);
  }

  test("without the password fallback, a user without TOTP needs no code", async () => {
    const boss = await admin();
    const other = await admin();
    await setAs(boss, "Accounts_TwoFactorAuthentication_Enforce_Password_Fallback", false);

    const res = await changeSiteName(other.credentials);

    await setAs(boss, "Accounts_TwoFactorAuthentication_Enforce_Password_Fallback", true);
    expect(res.status).toBe(200);
  });

  test("with two-factor authentication off, no route asks for a code", async () => {
    const boss = await admin();
    const other = await admin();
    await setAs(boss, "Accounts_TwoFactorAuthentication_Enabled", false);

    const res = await changeSiteName(other.credentials);

    await setAs(boss, "Accounts_TwoFactorAuthentication_Enabled", true);
    expect(res.status).toBe(200);
  });
});

describe("the routes Rocket.Chat marks twoFactorRequired", () => {
  /** POSTs `body` to `path` below /api/v1 as `auth` with extra headers. */
  async function post(
    path: string,
    auth: Credentials,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    const res = await fetch(`${server.url}/api/v1/${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-User-Id": auth.userId,
        "X-Auth-Token": auth.authToken,
        ...headers,
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  test("users.update and the personal access token routes ask for it", async () => {
    const boss = await admin();
    const { user } = await createUser(server);
    const calls: [string, unknown][] = [
      ["users.update", { userId: user._id, data: { name: "Renamed" } }],
      ["users.generatePersonalAccessToken", { tokenName: "bot" }],
      ["users.regeneratePersonalAccessToken", { tokenName: "bot" }],
      ["users.removePersonalAccessToken", { tokenName: "bot" }],
    ];

    const refused = [];
    const passed = [];
    for (const [path, body] of calls) {
      refused.push((await post(path, boss.credentials, body, { "User-Agent": "a" })).body);
      passed.push((await post(path, boss.credentials, body, byPassword(boss.password))).status);
    }

    expect(refused.map((b) => b.errorType)).toEqual(Array(4).fill("totp-required"));
    expect(passed).toEqual([200, 200, 200, 200]);
  });

  test("a personal access token made with bypassTwoFactor is never asked", async () => {
    const boss = await admin();
    const made = await post(
      "users.generatePersonalAccessToken",
      boss.credentials,
      { tokenName: "deploy-bot", bypassTwoFactor: true },
      byPassword(boss.password),
    );
    const pat = { userId: boss._id, authToken: made.body.token as string };

    const res = await changeSiteName(pat, { "User-Agent": "deploy-bot/1.0" });

    expect(res.status).toBe(200);
  });
});
