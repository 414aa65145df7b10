/**
 * Pruning a room's history (rooms.cleanHistory) takes back the thread bookkeeping of what
 * it deletes, as deleting one message does: parents count the replies left, and nobody
 * keeps an unread thread that lost replies or its parent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

async function send(who: SeededUser, rid: string, msg: string, tmid?: string) {
  const res = await api(server, "chat.sendMessage", {
    auth: who.credentials,
    body: { message: { rid, msg, ...(tmid && { tmid }) } },
  });
  expect(res.status).toBe(200);
  return res.body.message as { _id: string; ts: string };
}

async function thread(who: SeededUser, mid: string) {
  const res = await api(server, "chat.getMessage", {
    auth: who.credentials,
    query: { msgId: mid },
  });
  const { tcount, tlm, replies } = res.body.message;
  return { tcount, tlm, replies };
}

async function unread(who: SeededUser, rid: string): Promise<string[]> {
  const res = await api(server, "subscriptions.getOne", {
    auth: who.credentials,
    query: { roomId: rid },
  });
  return res.body.subscription.tunread ?? [];
}

test("pruning replies and a thread parent leaves exact counters and no stale unread threads", async () => {
  const [owner, member] = [await seedUser(server, "tr"), await seedUser(server, "tr")];
  const created = await api(server, "channels.create", {
    auth: owner.credentials,
    body: { name: `tr-${crypto.randomUUID().slice(0, 8)}`, members: [member.username] },
  });
  const rid = created.body.channel._id as string;
  const root = await send(owner, rid, "shall we ship?");
  const first = await send(member, rid, "yes", root._id);
  const second = await send(owner, rid, "good", root._id);
  await send(member, rid, "on Friday", root._id);
  const other = await send(owner, rid, "another question");
  await send(member, rid, "later", other._id);
  expect(await unread(owner, rid)).toEqual([root._id, other._id]);

  const pruned = await api(server, "rooms.cleanHistory", {
    auth: server.admin,
    body: { roomId: rid, oldest: second.ts, latest: other.ts, inclusive: true },
  });

  expect(pruned.body).toEqual({ _id: rid, count: 3, success: true });
  expect(await thread(owner, root._id)).toEqual({
    tcount: 1,
    tlm: first.ts,
    replies: [owner._id, member._id],
  });
  expect(await unread(owner, rid)).toEqual([]);
  expect(await unread(member, rid)).toEqual([]);
});

test("pruning every reply of a thread leaves its parent with none and no last reply", async () => {
  const [owner, member] = [await seedUser(server, "tr"), await seedUser(server, "tr")];
  const created = await api(server, "channels.create", {
    auth: owner.credentials,
    body: { name: `tr-${crypto.randomUUID().slice(0, 8)}`, members: [member.username] },
  });
  const rid = created.body.channel._id as string;
  const root = await send(owner, rid, "anyone?");
  const first = await send(member, rid, "me", root._id);
  const last = await send(member, rid, "and me", root._id);

  const pruned = await api(server, "rooms.cleanHistory", {
    auth: server.admin,
    body: { roomId: rid, oldest: first.ts, latest: last.ts, inclusive: true },
  });

  expect(pruned.body.count).toBe(2);
  expect(await thread(owner, root._id)).toEqual({
    tcount: 0,
    tlm: undefined,
    replies: [owner._id, member._id],
  });
  expect(await unread(owner, rid)).toEqual([]);
});
