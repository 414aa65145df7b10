/**
 * The REST rate limiter over real HTTP, on a server outside test mode that trusts one
 * proxy, so that each test calls from addresses of its own (`X-Forwarded-For`), and whose
 * clock only the tests move. Limits are changed over REST while the server runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { stringifyEJSON } from "../core/ejson.ts";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

let now = Date.parse("2026-07-01T12:00:00Z");
let server: TestServer;
let plain: Credentials;
let addresses = 0;

beforeAll(async () => {
  server = await startTestServer({
    testMode: false,
    clock: { now: () => new Date(now) },
    env: { HTTP_FORWARDED_COUNT: "1" },
  });
  plain = (await createUser(server)).credentials;
});

afterAll(() => server.stop());

/** An address no other test calls from. */
function newAddress(): string {
  addresses += 1;
  return `192.0.2.${addresses}`;
}

/** Calls `path` below /api/v1 from `address`; answers status, rate headers and body. */
async function call(
  address: string,
  path: string,
  options: { auth?: Credentials; body?: unknown } = {},
) {
  const headers: Record<string, string> = { "X-Forwarded-For": address };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.auth) {
    headers["X-User-Id"] = options.auth.userId;
    headers["X-Auth-Token"] = options.auth.authToken;
  }
  const res = await fetch(`${server.url}/api/v1/${path}`, {
    method: options.body === undefined ? "GET" : "POST",
    headers,
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  return {
    status: res.status,
    limit: res.headers.get("x-ratelimit-limit"),
    remaining: res.headers.get("x-ratelimit-remaining"),
    reset: res.headers.get("x-ratelimit-reset"),
    body: await res.json(),
  };
}

/** Changes a setting as the administrator. */
async function setting(id: string, value: unknown): Promise<void> {
  const res = await api(server, `settings/${id}`, { auth: server.admin, body: { value } });
  expect(res.status).toBe(200);
}

const TOO_MANY = (seconds: number) => ({
  success: false,
  error: `Error, too many requests. Please slow down. You must wait ${seconds} seconds before trying this endpoint again. [error-too-many-requests]`,
});

describe("the default limit", () => {
  test("a limited answer carries the limit, the calls left and when the window ends", async () => {
    const res = await call(newAddress(), "me", { auth: plain });

    expect(res.status).toBe(200);
    expect([res.limit, res.remaining, res.reset]).toEqual(["10", "9", String(now + 60_000)]);
  });

  test("the eleventh call in a minute is refused with 429, and the window ends on time", async () => {
    const from = newAddress();
    for (let i = 0; i < 10; i++) expect((await call(from, "me", { auth: plain })).status).toBe(200);
    now += 15_000;

    const refused = await call(from, "me", { auth: plain });
    now += 45_000;
    const again = await call(from, "me", { auth: plain });

    expect(refused).toEqual({
      status: 429,
      limit: "10",
      remaining: "0",
      reset: String(now),
      body: TOO_MANY(45),
    });
    expect([again.status, again.remaining]).toEqual([200, "9"]);
  });

  test("each route and each address is counted apart", async () => {
    const from = newAddress();
    for (let i = 0; i < 11; i++) await call(from, "settings.public");

    const otherRoute = await call(from, "me", { auth: plain });
    const otherAddress = await call(newAddress(), "settings.public");
    const same = await call(from, "settings.public");

    expect(otherRoute.status).toBe(200);
    expect(otherAddress.status).toBe(200);
    expect(same.status).toBe(429);
  });

  test("an administrator (api-bypass-rate-limit) is not limited", async () => {
    const from = newAddress();
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await call(from, "me", { auth: server.admin }));

    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(answers[0]?.limit).toBeNull();
  });

  test("the method.call tunnel is left to the DDP limiter", async () => {
    const from = newAddress();
    const message = stringifyEJSON({ msg: "method", method: "public-settings/get", id: "1" });
    const answers = [];
    for (let i = 0; i < 12; i++) {
      answers.push(await call(from, "method.callAnon/public-settings:get", { body: { message } }));
    }

    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(answers[11]?.limit).toBeNull();
  });
});

describe("settings apply at once", () => {
  test("a new number of calls counts from the next call", async () => {
    const from = newAddress();
    await call(from, "settings.public");
    await setting("API_Enable_Rate_Limiter_Limit_Calls_Default", 2);

    const second = await call(from, "settings.public");
    const third = await call(from, "settings.public");

    await setting("API_Enable_Rate_Limiter_Limit_Calls_Default", 10);
    expect([second.status, second.limit, second.remaining]).toEqual([200, "2", "0"]);
    expect(third.status).toBe(429);
  });

  test("turning the limiter off removes the limit and the headers", async () => {
    const from = newAddress();
    await setting("API_Enable_Rate_Limiter", false);
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await call(from, "settings.public"));
    await setting("API_Enable_Rate_Limiter", true);

    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(answers[11]?.limit).toBeNull();
    expect((await call(from, "settings.public")).limit).toBe("10");
  });

  test("users.register allows Rate_Limiter_Limit_RegisterUser calls", async () => {
    const from = newAddress();
    const register = (n: number) =>
      call(from, "users.register", {
        body: {
          username: `limited.${addresses}.${n}`,
          email: `limited.${addresses}.${n}@example.com`,
          pass: "a-password",
          name: "Limited",
        },
      });

    const first = await register(1);
    const second = await register(2);

    expect([first.status, first.limit]).toEqual([200, "1"]);
    expect(second.status).toBe(429);
  });
});

describe("test mode", () => {
  test("has no rate limiter, as in Rocket.Chat", async () => {
    const testServer = await startTestServer();
    try {
      const { credentials } = await createUser(testServer);
      const answers = [];
      for (let i = 0; i < 12; i++) answers.push(await api(testServer, "me", { auth: credentials }));

      expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
      expect(answers[0]?.headers.get("x-ratelimit-limit")).toBeNull();
    } finally {
      await testServer.stop();
    }
  });
});
