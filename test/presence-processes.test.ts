/**
 * Presence written by two processes of one deployment at once, on one data folder joined
 * by a real NATS server: the test holds one process's store operation at the moment that
 * matters and lets the other go on. Whatever the interleaving, a user's stored status ends
 * up following from their connection records, and a process whose records another one
 * removed as gone records its open connections again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { SimulatedClock } from "xstate";
import { Clients, fence, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";
import { NATS_SKIP, type NatsProcess, spawnNats } from "./processes.ts";
import { type StoreCall, StoreGate, statusWrite } from "./store-gate.ts";

/** Resolves once `watcher` receives `user` shown with status `code`, after its first `seen` frames. */
function shown(watcher: RawDdp, user: SeededUser, code: number, seen = 0) {
  return watcher.waitFor((f) => {
    const args = (f.fields as { args?: [[string, number]] } | undefined)?.args;
    return (
      watcher.frames.indexOf(f) >= seen &&
      f.collection === "stream-user-presence" &&
      f.id === user._id &&
      args?.[0]?.[1] === code
    );
  });
}

const heartbeatOf = (call: StoreCall) =>
  call.collection === "instances" && call.operation === "updateOne";

/** A silent logger of which a test awaits the next line carrying message `msg`. */
function watchedLogger() {
  const waiting: { msg: string; resolve: () => void }[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write(line: string) {
        const { msg } = JSON.parse(line) as { msg: string };
        for (const w of waiting.filter((w) => w.msg === msg)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve();
        }
      },
    },
  );
  const next = (msg: string) => new Promise<void>((resolve) => waiting.push({ msg, resolve }));
  return { logger, next };
}

describe.skipIf(NATS_SKIP !== "")(`presence written by two processes${NATS_SKIP}`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-presence-processes-"));
  const gates = { one: new StoreGate(), two: new StoreGate() };
  // Heartbeats run only when a test moves these clocks.
  const clocks = { one: new SimulatedClock(), two: new SimulatedClock() };
  const twoLog = watchedLogger();
  const clients = new Clients();
  let nats: NatsProcess;
  let one: TestServer;
  let two: TestServer;

  beforeAll(async () => {
    nats = await spawnNats();
    const env = (name: string) => ({ NATS_URL: nats.url, INSTANCE_ID: name });
    // No connection goes quiet for long enough to be pinged while the clocks move.
    const quiet = { pingMs: 3_600_000, timeoutMs: 3_600_000 };
    // The first process counts any other whose heartbeat is older than 3 ms as gone.
    one = await startTestServer({
      dataDir,
      env: env("presence-one"),
      presenceDb: gates.one.wrap,
      actorClock: clocks.one,
      presenceHeartbeatMs: 1,
      ...quiet,
    });
    two = await startTestServer({
      dataDir,
      env: env("presence-two"),
      presenceDb: gates.two.wrap,
      actorClock: clocks.two,
      presenceHeartbeatMs: 60_000,
      ...quiet,
      logger: twoLog.logger,
    });
  }, 30_000);

  afterAll(async () => {
    clients.closeAll();
    await two?.stop(true);
    await one?.stop();
    await nats?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function statusOf(user: SeededUser) {
    const res = await api(one, "users.getStatus", {
      auth: one.admin,
      query: { userId: user._id },
    });
    return res.body.status;
  }

  async function watcherOf(server: TestServer, user: SeededUser): Promise<RawDdp> {
    const watcher = await clients.connect(server, await seedUser(server, "watcher"));
    await watcher.sub("stream-user-presence", "", { added: [user._id] });
    return watcher;
  }

  test("a status written from records that changed meanwhile is corrected", async () => {
    const user = await seedUser(one, "both");
    const watcher = await watcherOf(two, user);
    const client = await clients.connect(two, user);
    await client.call("UserPresence:setDefaultStatus", "busy");
    await shown(watcher, user, 3);
    const held = gates.one.holdNext(statusWrite(user._id));

    // The first process computes "online" from the user's one connection and waits to
    // write it; meanwhile that connection closes on the second, which stores "offline".
    const choice = api(one, "users.setStatus", {
      auth: user.credentials,
      body: { status: "online" },
    });
    await held.reached;
    client.close();
    await shown(watcher, user, 0);
    held.release();

    expect((await choice).body).toEqual({ success: true });
    expect(await statusOf(user)).toBe("offline");
    const online = await api(one, "users.presence", {
      auth: one.admin,
      query: { ids: user._id },
    });
    expect(online.body.users).toEqual([]);
  }, 30_000);

  test("a process whose heartbeat comes in while another removes its records as gone records them again", async () => {
    const user = await seedUser(one, "revived");
    const watcher = await watcherOf(one, user);
    const client = await clients.connect(two, user);
    await shown(watcher, user, 1);
    const deleting = gates.one.holdNext(
      (call) => call.collection === "instances" && call.operation === "deleteMany",
    );

    // The first process finds the second's heartbeat stale and removes its connection
    // records; the second's heartbeat comes in before the first is done.
    clocks.one.increment(1);
    await deleting.reached;
    const beaten = gates.two.afterNext(heartbeatOf);
    const swept = twoLog.next("presence records swept");
    clocks.two.increment(60_000);
    await beaten;
    await swept;
    // Its next heartbeat is due once it has answered its client again.
    await fence(client);
    const seen = watcher.frames.length;
    deleting.release();
    await shown(watcher, user, 0, seen);

    // At its next heartbeat the second process records its open connection again.
    const back = watcher.frames.length;
    clocks.two.increment(60_000);

    expect(await shown(watcher, user, 1, back)).toMatchObject({ id: user._id });
    expect(await statusOf(user)).toBe("online");
  }, 30_000);
});
