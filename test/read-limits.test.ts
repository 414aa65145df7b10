/**
 * Every read that answers a room's messages is bounded, over real HTTP and WebSockets:
 * the `lastUpdate` form of `chat.syncMessages`, `chat.syncThreadMessages`, and the DDP
 * `loadHistory` and `loadNextMessages` however large a limit they are given.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Clients, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

const LIMIT = 1000;

let server: TestServer;
const clients = new Clients();
let alice: SeededUser;
let ddp: RawDdp;
let rid: string;
let parentId: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "reader");
  ddp = await clients.connect(server, alice);
  const name = `limits-${crypto.randomUUID().slice(0, 8)}`;
  const created = await api(server, "groups.create", {
    auth: alice.credentials,
    body: { name },
  });
  rid = created.body.group._id;
  const parent = await api(server, "chat.sendMessage", {
    auth: alice.credentials,
    body: { message: { rid, msg: "parent" } },
  });
  parentId = parent.body.message._id;

  // Written straight to the store: sending this many through the room actor is slow.
  const start = Date.now() - 10_000;
  const u = { _id: alice._id, username: alice.username };
  const messages = Array.from({ length: LIMIT + 1 }, (_, i) => ({
    _id: `limits${String(i).padStart(11, "0")}`,
    rid,
    msg: `old ${i}`,
    ts: new Date(start + i),
    u,
    _updatedAt: new Date(start + i),
    tmid: parentId,
  }));
  await server.parley.services.deps.db.messages.insertMany(messages);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

test("syncMessages from a date long past answers at most the bound, newest first", async () => {
  const res = await api(server, "chat.syncMessages", {
    auth: alice.credentials,
    query: { roomId: rid, lastUpdate: "1970-01-01T00:00:00Z" },
  });

  expect(res.status).toBe(200);
  expect(res.body.result.updated).toHaveLength(LIMIT);
  expect(res.body.result.updated[0].msg).toBe("parent");
});

test("syncThreadMessages answers at most the bound of a thread's replies", async () => {
  const res = await api(server, "chat.syncThreadMessages", {
    auth: alice.credentials,
    query: { tmid: parentId, updatedSince: "1970-01-01T00:00:00.000Z" },
  });

  expect(res.status).toBe(200);
  expect(res.body.messages.update).toHaveLength(LIMIT);
  expect(res.body.messages.update[0].msg).toBe(`old ${LIMIT}`);
});

test("loadHistory with a huge limit answers at most the bound", async () => {
  const answer = await ddp.call("loadHistory", rid, null, 1e9);

  expect((answer.result as { messages: unknown[] }).messages).toHaveLength(LIMIT);
});

test("loadNextMessages with a huge limit answers at most the bound", async () => {
  const answer = await ddp.call("loadNextMessages", rid, new Date(0), 1e9);

  expect((answer.result as { messages: unknown[] }).messages).toHaveLength(LIMIT);
});
