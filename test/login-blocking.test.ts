/**
 * Failed-login blocking over real HTTP and WebSockets, with Rocket.Chat's
 * `Block_Multiple_Failed_Logins_*` settings changed over REST while the server runs. The
 * server trusts one proxy (HTTP_FORWARDED_COUNT=1), so each test logs in from addresses of
 * its own through `X-Forwarded-For`, and its clock moves only when a test moves it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { Clients, sha256 } from "./ddp-helpers.ts";
import { api, createUser, startTestServer, type TestServer } from "./helpers.ts";

let now = Date.parse("2026-05-04T08:00:00Z");
let server: TestServer;
const clients = new Clients();
let addresses = 0;

/**
 * The environment of these servers: a trusted proxy, and failed-login blocking on from the
 * start (TEST_MODE starts it off).
 */
const ENV = { HTTP_FORWARDED_COUNT: "1", Block_Multiple_Failed_Logins_Enabled: "true" };

beforeAll(async () => {
  server = await startTestServer({ clock: { now: () => new Date(now) }, env: ENV });
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** Lets `ms` pass on the server's clock. */
function pass(ms: number): void {
  now += ms;
}

/** An address no other test logs in from. */
function newAddress(): string {
  addresses += 1;
  return `198.51.100.${addresses}`;
}

/** Changes a setting as the administrator. */
async function setting(id: string, value: unknown): Promise<void> {
  const res = await api(server, `settings/${id}`, { auth: server.admin, body: { value } });
  expect(res.status).toBe(200);
}

/** Logs in over REST from `address` with `user` and `password`; answers status and body. */
async function attempt(address: string, user: string, password: string) {
  // Each attempt happens a second after whatever came before.
  pass(1000);
  const res = await fetch(`${server.url}/api/v1/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Forwarded-For": `10.9.9.9, ${address}` },
    body: JSON.stringify({ user, password }),
  });
  return { status: res.status, body: await res.json() };
}

const blockedFor = (who: "user" | "ip") => ({
  status: 401,
  body: {
    status: "error",
    error: `error-login-blocked-for-${who}`,
    details: { function: "Accounts.validateLoginAttempt" },
    message: `Login has been temporarily blocked For ${who === "ip" ? "IP" : "User"}`,
    success: false,
  },
});

describe("blocking by user", () => {
  beforeAll(async () => {
    await setting("Block_Multiple_Failed_Logins_By_Ip", false);
    await setting("Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User", 3);
  });

  afterAll(async () => {
    await setting("Block_Multiple_Failed_Logins_By_Ip", true);
  });

  test("the right password is refused after as many failures as allowed", async () => {
    const { user, password } = await createUser(server);
    const from = newAddress();
    for (let i = 0; i < 3; i++) {
      expect((await attempt(from, user.username, "wrong")).status).toBe(401);
    }

    const blocked = await attempt(newAddress(), user.username, password);

    expect(blocked).toEqual(blockedFor("user"));
  });

  test("one failure fewer than allowed does not block", async () => {
    const { user, password } = await createUser(server);
    const from = newAddress();
    await attempt(from, user.username, "wrong");
    await attempt(from, user.username, "wrong");

    const res = await attempt(from, user.username, password);

    expect(res.status).toBe(200);
  });

  test("the block ends once the unblock time has passed, not before", async () => {
    const { user, password } = await createUser(server);
    const from = newAddress();
    for (let i = 0; i < 3; i++) await attempt(from, user.username, "wrong");
    // The refused attempt counts as a failure too, as in Rocket.Chat.
    expect(await attempt(from, user.username, password)).toEqual(blockedFor("user"));

    pass(5 * 60_000 - 5_000);
    const early = await attempt(from, user.username, password);
    pass(5 * 60_000);
    const late = await attempt(from, user.username, password);

    expect(early).toEqual(blockedFor("user"));
    expect(late.status).toBe(200);
  });

  test("a successful login starts the count afresh", async () => {
    const { user, password } = await createUser(server);
    const from = newAddress();
    await attempt(from, user.username, "wrong");
    await attempt(from, user.username, "wrong");
    expect((await attempt(from, user.username, password)).status).toBe(200);

    await attempt(from, user.username, "wrong");
    await attempt(from, user.username, "wrong");
    const res = await attempt(from, user.username, password);

    expect(res.status).toBe(200);
  });

  test("one user's failures do not block another", async () => {
    const [first, second] = [await createUser(server), await createUser(server)];
    const from = newAddress();
    for (let i = 0; i < 3; i++) await attempt(from, first.user.username, "wrong");

    const res = await attempt(from, second.user.username, second.password);

    expect(res.status).toBe(200);
  });

  test("DDP logins count and are refused with the same error", async () => {
    const { user, password } = await createUser(server);
    const client = await clients.connect(server);
    const credentials = (digest: string) => ({
      user: { username: user.username },
      password: { digest, algorithm: "sha-256" },
    });
    for (let i = 0; i < 3; i++) {
      pass(1000);
      await client.call("login", credentials(sha256("wrong")));
    }

    pass(1000);
    const answer = await client.call("login", credentials(sha256(password)));

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: "error-login-blocked-for-user",
      reason: "Login has been temporarily blocked For User",
      message: "Login has been temporarily blocked For User [error-login-blocked-for-user]",
      errorType: "Meteor.Error",
      details: { function: "Accounts.validateLoginAttempt" },
    });
    expect(await attempt(newAddress(), user.username, password)).toEqual(blockedFor("user"));
  });

  test("a new limit applies to the next attempt", async () => {
    const { user, password } = await createUser(server);
    const from = newAddress();
    await attempt(from, user.username, "wrong");
    await setting("Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User", 1);

    const res = await attempt(from, user.username, password);

    await setting("Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User", 3);
    expect(res).toEqual(blockedFor("user"));
  });

  test("the block is kept in the store and outlives a restart", async () => {
    const { user, password } = await createUser(server);
    const from = newAddress();
    for (let i = 0; i < 3; i++) await attempt(from, user.username, "wrong");
    const { dataDir } = server;
    await server.stop(true);
    server = await startTestServer({
      dataDir,
      clock: { now: () => new Date(now) },
      env: ENV,
    });

    const res = await attempt(newAddress(), user.username, password);

    expect(res).toEqual(blockedFor("user"));
  });
});

describe("blocking by address", () => {
  beforeAll(async () => {
    await setting("Block_Multiple_Failed_Logins_By_User", false);
    await setting("Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip", 4);
  });

  afterAll(async () => {
    await setting("Block_Multiple_Failed_Logins_By_User", true);
    await setting("Block_Multiple_Failed_Logins_Ip_Whitelist", "");
  });

  let people: Awaited<ReturnType<typeof createUser>>[];

  beforeEach(async () => {
    people = [await createUser(server), await createUser(server), await createUser(server)];
  });

  test("failures with several usernames block the address for everyone", async () => {
    const from = newAddress();
    for (const who of people.slice(0, 2)) {
      await attempt(from, who.user.username, "wrong");
      await attempt(from, who.user.username, "wrong");
    }
    const third = people[2] as (typeof people)[number];

    const blocked = await attempt(from, third.user.username, third.password);
    const elsewhere = await attempt(newAddress(), third.user.username, third.password);

    expect(blocked).toEqual(blockedFor("ip"));
    expect(elsewhere.status).toBe(200);
  });

  test("the address is free again after the unblock time", async () => {
    const from = newAddress();
    const who = people[0] as (typeof people)[number];
    for (let i = 0; i < 4; i++) await attempt(from, "nobody.at.all", "wrong");
    expect(await attempt(from, who.user.username, who.password)).toEqual(blockedFor("ip"));

    pass(5 * 60_000 + 1);
    const res = await attempt(from, who.user.username, who.password);

    expect(res.status).toBe(200);
  });

  test("DDP logins count against the address the proxy forwarded", async () => {
    const from = newAddress();
    // Bun's WebSocket client sends extra headers with the upgrade request.
    const socket = new WebSocket(server.wsUrl, {
      headers: { "X-Forwarded-For": from },
    } as unknown as string[]);
    const frames: Record<string, unknown>[] = [];
    let seen = () => {};
    socket.addEventListener("message", (event) => {
      frames.push(JSON.parse(String(event.data)));
      seen();
    });
    /** Resolves once a frame with `msg` (and `id`, when given) has arrived. */
    const frame = async (msg: string, id?: string) => {
      const match = (f: Record<string, unknown>) => f.msg === msg && (!id || f.id === id);
      while (!frames.some(match)) await new Promise<void>((resolve) => (seen = resolve));
    };
    await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
    socket.send(JSON.stringify({ msg: "connect", version: "1", support: ["1"] }));
    await frame("connected");
    for (let i = 0; i < 4; i++) {
      pass(1000);
      socket.send(
        JSON.stringify({
          msg: "method",
          method: "login",
          id: `l${i}`,
          params: [{ user: { username: "nobody.here" }, password: "wrong" }],
        }),
      );
      await frame("result", `l${i}`);
    }
    socket.close();
    const who = people[0] as (typeof people)[number];

    const res = await attempt(from, who.user.username, who.password);

    expect(frames.filter((f) => f.msg === "result")).toHaveLength(4);
    expect(res).toEqual(blockedFor("ip"));
  });

  test("a whitelisted address is never blocked", async () => {
    const from = newAddress();
    await setting("Block_Multiple_Failed_Logins_Ip_Whitelist", `192.0.2.1, ${from}`);
    const who = people[0] as (typeof people)[number];
    for (let i = 0; i < 4; i++) await attempt(from, who.user.username, "wrong");

    const res = await attempt(from, who.user.username, who.password);

    expect(res.status).toBe(200);
  });

  test("blocking off lets every attempt through", async () => {
    const from = newAddress();
    await setting("Block_Multiple_Failed_Logins_Enabled", false);
    const who = people[0] as (typeof people)[number];
    for (let i = 0; i < 4; i++) await attempt(from, who.user.username, "wrong");

    const res = await attempt(from, who.user.username, who.password);

    await setting("Block_Multiple_Failed_Logins_Enabled", true);
    expect(res.status).toBe(200);
  });
});

describe("the client's address", () => {
  test("without a trusted proxy, X-Forwarded-For is ignored", async () => {
    const plain = await startTestServer();
    try {
      const enabled = await api(plain, "settings/Block_Multiple_Failed_Logins_Enabled", {
        auth: plain.admin,
      });
      // TEST_MODE starts with blocking off; turning it on works as in Rocket.Chat's tests.
      expect(enabled.body.value).toBe(false);
      await api(plain, "settings/Block_Multiple_Failed_Logins_Enabled", {
        auth: plain.admin,
        body: { value: true },
      });
      await api(plain, "settings/Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip", {
        auth: plain.admin,
        body: { value: 2 },
      });
      const { user, password } = await createUser(plain);
      const tryFrom = (address: string, pass: string) =>
        fetch(`${plain.url}/api/v1/login`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Forwarded-For": address },
          body: JSON.stringify({ user: "no.such.user", password: pass }),
        });
      await tryFrom("203.0.113.1", "wrong");
      await tryFrom("203.0.113.2", "wrong");

      const res = await fetch(`${plain.url}/api/v1/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Forwarded-For": "203.0.113.3" },
        body: JSON.stringify({ user: user.username, password }),
      });

      expect(await res.json()).toMatchObject({ error: "error-login-blocked-for-ip" });
    } finally {
      await plain.stop();
    }
  });
});
