/**
 * What one DDP socket may ask of the server, over real WebSockets: the work it may queue
 * (by frames and by bytes) before it is disconnected, and that its queued work gives HTTP
 * and other sockets their turn.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { SessionHandle } from "../actors/session-effects.ts";
import { MAX_QUEUED_BYTES, MAX_QUEUED_FRAMES, QUEUE_LIMIT_CLOSE } from "../actors/session.ts";
import { Clients, closed, fence, HeldMessages } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const held = new HeldMessages();
const clients = new Clients();
/** Messages the server has handled so far, by DDP id. */
const handled: string[] = [];

function counting(real: SessionHandle): SessionHandle {
  return async (input) => {
    const outcome = await real(input);
    handled.push(String(input.message.id));
    return outcome;
  };
}

beforeAll(async () => {
  server = await startTestServer({ sessionHandle: (real) => held.wrap(counting(real)) });
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** A client whose first call is held, so that every frame it sends next waits in its queue. */
async function blockedClient(id: string): Promise<{ client: RawDdp; release: () => void }> {
  const client = await clients.connect(server);
  const first = held.hold(id);
  client.send({ msg: "method", id, method: "rooms/get", params: [] });
  await first.reached;
  return { client, release: first.release };
}

function closeOf(event: CloseEvent) {
  return { code: event.code, reason: event.reason };
}

describe("queued work per socket", () => {
  test(`a socket that queues more than ${MAX_QUEUED_FRAMES} frames is closed with 1008`, async () => {
    const { client, release } = await blockedClient("frames-first");
    const closing = closed(client.socket);

    for (let i = 1; i <= MAX_QUEUED_FRAMES; i++)
      client.send({ msg: "method", id: `frames-${i}`, method: "rooms/get", params: [] });
    const close = await closing;
    release();

    expect(closeOf(close)).toEqual(QUEUE_LIMIT_CLOSE);
  });

  test("a socket that queues more than 4 MB of frames is closed with 1008", async () => {
    const { client, release } = await blockedClient("bytes-first");
    const closing = closed(client.socket);
    const big = "x".repeat(1_000_000);

    const frames = Math.ceil(MAX_QUEUED_BYTES / big.length);
    for (let i = 1; i <= frames; i++)
      client.send({ msg: "method", id: `bytes-${i}`, method: "login", params: [{ user: big }] });
    const close = await closing;
    release();

    expect(frames).toBeLessThan(MAX_QUEUED_FRAMES);
    expect(closeOf(close)).toEqual(QUEUE_LIMIT_CLOSE);
  });

  test("/api/info answers while one socket works through its queued frames", async () => {
    const { client, release } = await blockedClient("flood-0");
    const flood = 400;
    for (let i = 1; i < flood; i++)
      client.send({ msg: "method", id: `flood-${i}`, method: "rooms/get", params: [] });
    // Pings skip the queue: once this one is answered, the whole flood is queued.
    await fence(client);
    const last = client.waitFor((f) => f.msg === "result" && f.id === `flood-${flood - 1}`);

    release();
    const info = await api(server, "/api/info");
    const floodHandledByThen = handled.filter((id) => id.startsWith("flood-")).length;
    await last;

    expect(info.status).toBe(200);
    expect(floodHandledByThen).toBeLessThan(flood);
  });
});
