/**
 * Presence when the store fails a write, as it does when the store's owner dies with the
 * write unanswered: the change is not dropped. A connection that opened or closed is
 * recorded again and a status recomputed until the store takes it, so that the status
 * others see ends up matching the user's connections.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Clients, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";
import { connectionWrite, StoreGate, statusWrite } from "./store-gate.ts";

const gate = new StoreGate();
const clients = new Clients();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ presenceDb: gate.wrap });
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** Resolves once `watcher` receives `user` shown with status `code` (0 offline, 1 online, 3 busy). */
function shown(watcher: RawDdp, user: SeededUser, code: number) {
  return watcher.streamEvent(
    "stream-user-presence",
    user._id,
    (args) => (args[0] as unknown[])[1] === code,
  );
}

/** A watcher of a new user, who then connects and is shown online. */
async function connectedUser(prefix: string) {
  const user = await seedUser(server, prefix);
  const watcher = await clients.connect(server, await seedUser(server, "watcher"));
  await watcher.sub("stream-user-presence", "", { added: [user._id] });
  const client = await clients.connect(server, user);
  await shown(watcher, user, 1);
  return { user, watcher, client };
}

async function statusOf(user: SeededUser) {
  const res = await api(server, "users.getStatus", {
    auth: server.admin,
    query: { userId: user._id },
  });
  return res.body.status;
}

async function connectionsOf(user: SeededUser): Promise<string[]> {
  const record = await server.parley.store
    .collection<{ _id: string; connections: { id: string }[] }>("usersSessions")
    .findOne({ _id: user._id });
  return (record?.connections ?? []).map((c) => c.id);
}

test("a closed connection whose record the store failed to remove is removed again", async () => {
  const { user, watcher, client } = await connectedUser("lost-pull");
  const failed = gate.failNext(connectionWrite(user._id, "$pull"));

  client.close();

  await failed;
  expect(await shown(watcher, user, 0)).toEqual([[user.username, 0, null]]);
  expect(await connectionsOf(user)).toEqual([]);
  expect(await statusOf(user)).toBe("offline");
});

test("a status whose write failed after the connection record went is written again", async () => {
  const { user, watcher, client } = await connectedUser("lost-status");
  const failed = gate.failNext(statusWrite(user._id));

  client.close();

  await failed;
  expect(await shown(watcher, user, 0)).toEqual([[user.username, 0, null]]);
  expect(await statusOf(user)).toBe("offline");
});

test("a connection whose record the store failed to add is recorded again", async () => {
  const user = await seedUser(server, "lost-push");
  const watcher = await clients.connect(server, await seedUser(server, "watcher"));
  await watcher.sub("stream-user-presence", "", { added: [user._id] });
  const failed = gate.failNext(connectionWrite(user._id, "$push"));

  await clients.connect(server, user);

  await failed;
  expect(await shown(watcher, user, 1)).toEqual([[user.username, 1, null]]);
  expect(await connectionsOf(user)).toHaveLength(1);
  expect(await statusOf(user)).toBe("online");
});

test("a connection recorded by a write whose answer was lost is recorded once", async () => {
  const { user, watcher, client } = await connectedUser("applied-push");
  const failed = gate.failNext(connectionWrite(user._id, "$push"), { applied: true });

  const second = await clients.connect(server, user);
  await failed;
  // Behind the connection's record in the user's actor.
  expect((await second.call("UserPresence:online")).result).toBe(true);

  expect(await connectionsOf(user)).toHaveLength(2);
  client.close();
  second.close();
  expect(await shown(watcher, user, 0)).toEqual([[user.username, 0, null]]);
  expect(await connectionsOf(user)).toEqual([]);
});

test("a chosen status whose recompute failed is answered as failed and recomputed", async () => {
  const { user, watcher } = await connectedUser("lost-choice");
  const failed = gate.failNext(statusWrite(user._id));

  const res = await api(server, "users.setStatus", {
    auth: user.credentials,
    body: { status: "busy" },
  });

  await failed;
  expect(res.status).toBe(500);
  // The choice itself was stored, so the status that follows from it is shown.
  expect(await shown(watcher, user, 3)).toEqual([[user.username, 3, null]]);
  expect(await statusOf(user)).toBe("busy");
});
