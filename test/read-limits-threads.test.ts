/** `chat.syncThreadsList` is bounded like the other sync reads, over real HTTP. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

const LIMIT = 1000;

let server: TestServer;
let alice: SeededUser;
let rid: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "threads-reader");
  const name = `thread-limits-${crypto.randomUUID().slice(0, 8)}`;
  const created = await api(server, "groups.create", { auth: alice.credentials, body: { name } });
  rid = created.body.group._id;

  // Written straight to the store: making this many threads through the room actor is slow.
  const start = Date.now() - 10_000;
  const u = { _id: alice._id, username: alice.username };
  const parents = Array.from({ length: LIMIT + 1 }, (_, i) => ({
    _id: `tlimits${String(i).padStart(10, "0")}`,
    rid,
    msg: `thread ${i}`,
    ts: new Date(start + i),
    u,
    _updatedAt: new Date(start + i),
    tcount: 1,
    tlm: new Date(start + i),
    replies: [alice._id],
  }));
  await server.parley.services.deps.db.messages.insertMany(parents);
});

afterAll(async () => {
  await server.stop();
});

test("syncThreadsList from a date long past answers at most the bound, most recent first", async () => {
  const res = await api(server, "chat.syncThreadsList", {
    auth: alice.credentials,
    query: { rid, updatedSince: "1970-01-01T00:00:00.000Z" },
  });

  expect(res.status).toBe(200);
  expect(res.body.threads.update).toHaveLength(LIMIT);
  expect(res.body.threads.update[0].msg).toBe(`thread ${LIMIT}`);
});
