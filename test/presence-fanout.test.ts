/**
 * Presence at scale: with a thousand sockets connected on loopback, one user's status
 * change costs one frame per connection watching that user, and nothing for the others.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { fence, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, RawDdp, startTestServer, type TestServer } from "./helpers.ts";

const SOCKETS = 1000;
const WATCHERS = 100;
/** Sockets opened at once while setting up. */
const BATCH = 50;

let server: TestServer;
const sockets: RawDdp[] = [];

beforeAll(async () => {
  // Heartbeats far beyond the test, so that no ping adds frames to the count.
  server = await startTestServer({ pingMs: 600_000, timeoutMs: 600_000 });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.stop();
});

test("one status change sends at most one frame per connection watching that user", async () => {
  const target = await seedUser(server, "watched");
  const bystander = await seedUser(server, "bystander");
  const viewers: SeededUser[] = [];
  for (let i = 0; i < 10; i++) viewers.push(await seedUser(server, "viewer"));
  const targetSocket = await RawDdp.connect(server.wsUrl);
  sockets.push(targetSocket);
  await targetSocket.resume(target.credentials.authToken);
  const watchers: RawDdp[] = [];

  for (let start = 0; start < SOCKETS; start += BATCH) {
    const batch = Array.from({ length: BATCH }, async (_, j) => {
      const i = start + j;
      const socket = await RawDdp.connect(server.wsUrl);
      sockets.push(socket);
      await socket.resume((viewers[i % viewers.length] as SeededUser).credentials.authToken);
      const watched = i < WATCHERS ? target : bystander;
      if (watched === target) watchers.push(socket);
      const ready = await socket.sub("stream-user-presence", "", { added: [watched._id] });
      expect(ready.msg).toBe("ready");
    });
    await Promise.all(batch);
  }
  await Promise.all(sockets.map((socket) => fence(socket)));
  const before = sockets.map((socket) => socket.frames.length);

  const changed = await api(server, "users.setStatus", {
    auth: target.credentials,
    body: { status: "busy" },
  });

  expect(changed.body).toEqual({ success: true });
  const isBusy = (f: Record<string, unknown>) =>
    f.collection === "stream-user-presence" &&
    f.id === target._id &&
    (f.fields as { args: [unknown[]] }).args[0]?.[1] === 3;
  await Promise.all(watchers.map((socket) => socket.waitFor(isBusy)));
  await Promise.all(sockets.map((socket) => fence(socket)));
  const received = sockets.flatMap((socket, i) =>
    socket.frames.slice(before[i]).filter((f) => f.msg !== "pong"),
  );
  expect(sockets).toHaveLength(SOCKETS + 1);
  expect(watchers).toHaveLength(WATCHERS);
  expect(received).toHaveLength(WATCHERS);
  expect(received.every(isBusy)).toBe(true);
}, 240_000);
