/**
 * The DDP rate limiter over real WebSockets and the REST method tunnel, on a server
 * outside test mode whose clock only the tests move, with Rocket.Chat's `DDP_Rate_Limit_*`
 * settings changed over REST while it runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseEJSON, stringifyEJSON } from "../core/ejson.ts";
import { Clients } from "./ddp-helpers.ts";
import { api, createUser, startTestServer, type TestServer } from "./helpers.ts";

let now = Date.parse("2026-10-10T10:00:00Z");
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

/** Changes a setting as the administrator. */
async function setting(id: string, value: unknown): Promise<void> {
  const res = await api(server, `settings/${id}`, { auth: server.admin, body: { value } });
  expect(res.status).toBe(200);
}

/** Meteor's refusal of a call past a DDP limit that ends in `ms` milliseconds. */
const tooMany = (ms: number) => {
  const reason = `Error, too many requests. Please slow down. You must wait ${Math.ceil(ms / 1000)} seconds before trying again.`;
  return {
    isClientSafe: true,
    error: "too-many-requests",
    reason,
    message: `${reason} [too-many-requests]`,
    errorType: "Meteor.Error",
    details: { timeToReset: ms },
  };
};

describe("per connection and method", () => {
  test("the eleventh call of a method in ten seconds is refused until the interval ends", async () => {
    const client = await clients.connect(server);
    for (let i = 0; i < 10; i++) {
      expect((await client.call("public-settings/get")).error).toBeUndefined();
    }
    now += 4_000;

    const refused = await client.call("public-settings/get");
    const otherMethod = await client.call("private-settings/get");
    const otherConnection = await (await clients.connect(server)).call("public-settings/get");
    now += 6_000;
    const later = await client.call("public-settings/get");

    expect(refused.error).toEqual(tooMany(6_000));
    expect(otherMethod.error).toBeUndefined();
    expect(otherConnection.error).toBeUndefined();
    expect(later.error).toBeUndefined();
  });

  test("a new number of calls applies at once; stream subscriptions get four times as many", async () => {
    await setting("DDP_Rate_Limit_Connection_By_Method_Requests_Allowed", 1);
    const client = await clients.connect(server);

    const calls = [];
    for (let i = 0; i < 2; i++) calls.push(await client.call("public-settings/get"));
    const subs = [];
    for (let i = 0; i < 5; i++) {
      subs.push(await client.sub("stream-notify-all", "public-settings-changed", false));
    }

    await setting("DDP_Rate_Limit_Connection_By_Method_Requests_Allowed", 10);
    expect(calls.map((c) => c.error === undefined)).toEqual([true, false]);
    expect(subs.map((s) => s.msg)).toEqual(["ready", "ready", "ready", "ready", "nosub"]);
    expect(subs[4]?.error).toEqual(tooMany(40_000));
  });
});

describe("the REST method tunnel", () => {
  test("is counted per user and method by the DDP limiter", async () => {
    const { credentials } = await createUser(server);
    const message = stringifyEJSON({ msg: "method", method: "public-settings/get", id: "1" });
    const frames = [];
    for (let i = 0; i < 21; i++) {
      const res = await api(server, "method.call/public-settings:get", {
        auth: credentials,
        body: { message },
      });
      frames.push(parseEJSON(res.body.message) as Record<string, unknown>);
    }

    expect(frames.slice(0, 20).every((f) => f.error === undefined)).toBe(true);
    expect(frames[20]?.error).toEqual(tooMany(10_000));
  });
});

describe("test mode", () => {
  test("has no DDP rate limiter, as in Rocket.Chat", async () => {
    const testServer = await startTestServer();
    try {
      const client = await clients.connect(testServer);
      const answers = [];
      for (let i = 0; i < 12; i++) answers.push(await client.call("public-settings/get"));

      expect(answers.every((a) => a.error === undefined)).toBe(true);
    } finally {
      await testServer.stop();
    }
  });
});
