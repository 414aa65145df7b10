/**
 * One account's secure lifecycle, step by step, on a server outside test mode: TOTP
 * turned on over DDP, logins refused without a code and accepted with one, a backup code
 * used once, a second factor on a sensitive REST route, a lockout after repeated failures
 * that ends when its time has passed on the server's clock, and the REST rate limiter's
 * headers and 429. The server trusts one proxy, so each step logs in from an address of
 * its own (`X-Forwarded-For`); no step sleeps.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { totpCode } from "../services/totp.ts";
import { Clients } from "./ddp-helpers.ts";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

let now = Date.parse("2026-11-11T11:00:00Z");
let server: TestServer;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer({
    testMode: false,
    clock: { now: () => new Date(now) },
    env: { HTTP_FORWARDED_COUNT: "1" },
  });
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** POSTs JSON to `path` below /api/v1 from `address`; answers status, headers and body. */
async function post(
  address: string,
  path: string,
  body: unknown,
  options: { auth?: Credentials; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${server.url}/api/v1/${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Forwarded-For": address,
      ...(options.auth && {
        "X-User-Id": options.auth.userId,
        "X-Auth-Token": options.auth.authToken,
      }),
      ...options.headers,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe("a secure lifecycle", () => {
  let boss: { _id: string; username: string; password: string; credentials: Credentials };
  let secret: string;
  let backupCodes: string[];
  const login = (address: string, extra: Record<string, unknown> = {}) =>
    post(address, "login", { user: boss.username, password: boss.password, ...extra });

  beforeAll(async () => {
    const made = await createUser(server, { roles: ["admin"], password: "boss-password" });
    boss = { ...made.user, password: made.password, credentials: made.credentials };
  });

  test("1. TOTP is turned on over DDP", async () => {
    const client = await clients.connect(server);
    await client.resume(boss.credentials.authToken);

    const enabled = await client.call("2fa:enable");
    secret = (enabled.result as { secret: string }).secret;
    const confirmed = await client.call(
      "2fa:validateTempToken",
      await totpCode(secret, new Date(now)),
    );

    backupCodes = (confirmed.result as { codes: string[] }).codes;
    expect(backupCodes).toHaveLength(12);
  });

  test("2. a login without a code is refused, with a code accepted", async () => {
    const refused = await login("203.0.113.10");
    const accepted = await login("203.0.113.10", { code: await totpCode(secret, new Date(now)) });

    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("totp-required");
    expect(accepted.status).toBe(200);
    boss.credentials = { userId: boss._id, authToken: accepted.body.data.authToken };
  });

  test("3. a backup code works once", async () => {
    const code = backupCodes[0] as string;

    const first = await login("203.0.113.11", { code });
    const second = await login("203.0.113.11", { code });

    expect(first.status).toBe(200);
    expect(second.body.error).toBe("totp-invalid");
  });

  test("4. no answer about the user shows the secret, a backup code or a token hash", async () => {
    const views = [
      (await api(server, "me", { auth: boss.credentials })).body,
      (await api(server, "users.info", { auth: boss.credentials, query: { userId: boss._id } }))
        .body,
      (await api(server, "users.list", { auth: server.admin })).body,
      (await login("203.0.113.12", { code: await totpCode(secret, new Date(now)) })).body,
    ];
    const stored = await server.parley.store.collection("users").findOne({ _id: boss._id });
    const hashedBackup = (stored?.services as { totp: { hashedBackup: string[] } }).totp
      .hashedBackup;

    for (const view of views.map((v) => JSON.stringify(v))) {
      expect(view).not.toContain(secret);
      for (const code of [...backupCodes, ...hashedBackup]) expect(view).not.toContain(code);
      expect(view).not.toContain("hashedToken");
      expect(view).not.toContain("bcrypt");
    }
  });

  test("5. a sensitive route asks for the TOTP code in x-2fa-code", async () => {
    // Half an hour on, registering no longer vouches for the account.
    now += 31 * 60_000;
    const change = (headers: Record<string, string> = {}) =>
      post(
        "203.0.113.13",
        "settings/Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User",
        {
          value: 3,
        },
        { auth: boss.credentials, headers },
      );

    const without = await change();
    const withCode = await change({
      "x-2fa-code": await totpCode(secret, new Date(now)),
      "x-2fa-method": "totp",
    });

    expect(without.body).toEqual({
      success: false,
      error: "TOTP Required [totp-required]",
      errorType: "totp-required",
      details: { method: "totp", codeGenerated: false, availableMethods: ["totp"] },
    });
    expect(withCode.status).toBe(200);
  });

  test("6. three failed logins lock the account until the unblock time has passed", async () => {
    const { user, password } = await createUser(server);
    const attempt = (pass: string) => {
      now += 1000;
      return post("203.0.113.14", "login", { user: user.username, password: pass });
    };
    for (let i = 0; i < 3; i++) expect((await attempt("wrong")).status).toBe(401);

    const locked = await attempt(password);
    now += 5 * 60_000;
    const unlocked = await attempt(password);

    expect(locked.body).toMatchObject({
      status: "error",
      error: "error-login-blocked-for-user",
      message: "Login has been temporarily blocked For User",
    });
    expect(unlocked.status).toBe(200);
  });

  test("7. the REST rate limiter counts down in its headers, then answers 429", async () => {
    const calls = [];
    for (let i = 0; i < 11; i++) {
      const res = await fetch(`${server.url}/api/v1/settings.public`, {
        headers: { "X-Forwarded-For": "203.0.113.15" },
      });
      calls.push({
        status: res.status,
        remaining: res.headers.get("x-ratelimit-remaining"),
        limit: res.headers.get("x-ratelimit-limit"),
        reset: res.headers.get("x-ratelimit-reset"),
        body: await res.json(),
      });
    }

    expect(calls.map((c) => c.remaining)).toEqual([
      "9",
      "8",
      "7",
      "6",
      "5",
      "4",
      "3",
      "2",
      "1",
      "0",
      "0",
    ]);
    expect(calls.every((c) => c.limit === "10" && c.reset === String(now + 60_000))).toBe(true);
    expect(calls[10]?.status).toBe(429);
    expect(calls[10]?.body).toEqual({
      success: false,
      error:
        "Error, too many requests. Please slow down. You must wait 60 seconds before trying this endpoint again. [error-too-many-requests]",
    });
  });
});
