/**
 * Threads over REST: a conversation among three users with the parent's counters and each
 * user's unread threads checked at every step, and what a reply does to the room.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type Person = { _id: string; username: string; credentials: Credentials };

let server: TestServer;
let ann: Person;
let bob: Person;
let cid: Person;

beforeAll(async () => {
  server = await startTestServer();
  const person = async () => {
    const { user, credentials } = await createUser(server);
    return { _id: user._id, username: user.username, credentials };
  };
  [ann, bob, cid] = [await person(), await person(), await person()];
});

afterAll(async () => {
  await server.stop();
});

/** A new public channel of Ann's with Bob and Cid in it. */
async function channel(): Promise<string> {
  const res = await api(server, "channels.create", {
    auth: ann.credentials,
    body: {
      name: `threads-${crypto.randomUUID().slice(0, 8)}`,
      members: [bob.username, cid.username],
    },
  });
  expect(res.status).toBe(200);
  return res.body.channel._id;
}

/** Sends `msg` to `rid` as `who`, in thread `tmid` when given; answers the stored message. */
async function send(who: Person, rid: string, msg: string, extra: Record<string, unknown> = {}) {
  const res = await api(server, "chat.sendMessage", {
    auth: who.credentials,
    body: { message: { rid, msg, ...extra } },
  });
  expect(res.status).toBe(200);
  return res.body.message as { _id: string; ts: string; tmid?: string };
}

async function subscription(who: Person, rid: string) {
  const res = await api(server, "subscriptions.getOne", {
    auth: who.credentials,
    query: { roomId: rid },
  });
  return res.body.subscription;
}

/** The parent's thread fields and every person's unread threads (absent counts as none). */
async function threadState(rid: string, tmid: string) {
  const got = await api(server, "chat.getMessage", {
    auth: ann.credentials,
    query: { msgId: tmid },
  });
  const { tcount, tlm, replies } = got.body.message;
  const unread = async (who: Person) => (await subscription(who, rid)).tunread ?? [];
  return {
    parent: { tcount, tlm, replies },
    tunread: { ann: await unread(ann), bob: await unread(bob), cid: await unread(cid) },
  };
}

async function follow(who: Person, mid: string, route = "chat.followMessage") {
  const res = await api(server, route, { auth: who.credentials, body: { mid } });
  expect(res.body).toEqual({ success: true });
}

test("a thread among three users keeps the parent's counters and everyone's unread threads exact", async () => {
  const rid = await channel();
  const parent = await send(ann, rid, "shall we ship on Friday?");
  const P = parent._id;
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: undefined, tlm: undefined, replies: undefined },
    tunread: { ann: [], bob: [], cid: [] },
  });

  const first = await send(bob, rid, "yes", { tmid: P });
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 1, tlm: first.ts, replies: [ann._id, bob._id] },
    tunread: { ann: [P], bob: [], cid: [] },
  });

  await follow(cid, P);
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 1, tlm: first.ts, replies: [ann._id, bob._id, cid._id] },
    tunread: { ann: [P], bob: [], cid: [] },
  });

  const second = await send(ann, rid, "then Friday it is", { tmid: P });
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 2, tlm: second.ts, replies: [ann._id, bob._id, cid._id] },
    tunread: { ann: [P], bob: [P], cid: [P] },
  });

  await follow(bob, P, "chat.unfollowMessage");
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 2, tlm: second.ts, replies: [ann._id, cid._id] },
    tunread: { ann: [P], bob: [], cid: [P] },
  });

  const read = await api(server, "subscriptions.read", {
    auth: cid.credentials,
    body: { rid, readThreads: true },
  });
  expect(read.body).toEqual({ success: true });
  expect((await threadState(rid, P)).tunread).toEqual({ ann: [P], bob: [], cid: [] });

  const third = await send(cid, rid, `@${bob.username} you should know`, { tmid: P });
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 3, tlm: third.ts, replies: [ann._id, cid._id, bob._id] },
    tunread: { ann: [P], bob: [P], cid: [] },
  });
  expect((await subscription(bob, rid)).tunreadUser).toEqual([P]);

  const call = await api(server, "method.call/readThreads", {
    auth: ann.credentials,
    body: {
      message: JSON.stringify({ msg: "method", id: "1", method: "readThreads", params: [P] }),
    },
  });
  expect(JSON.parse(call.body.message)).toEqual({ msg: "result", id: "1" });
  expect((await threadState(rid, P)).tunread).toEqual({ ann: [], bob: [P], cid: [] });
});
