/**
 * The thread routes one by one: what a reply does to its room, the thread list and its
 * filters, a thread's replies, sync since a date, deleting a reply, Rocket.Chat's errors,
 * and threads turned off.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type Person = { _id: string; username: string; credentials: Credentials };
type Sent = { _id: string; ts: string; rid: string };

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

async function channel(type: "channels" | "groups" = "channels", members = [bob, cid]) {
  const res = await api(server, `${type}.create`, {
    auth: ann.credentials,
    body: {
      name: `threads-${crypto.randomUUID().slice(0, 8)}`,
      members: members.map((m) => m.username),
    },
  });
  expect(res.status).toBe(200);
  return (res.body.channel ?? res.body.group)._id as string;
}

async function send(who: Person, rid: string, msg: string, extra: Record<string, unknown> = {}) {
  const res = await api(server, "chat.sendMessage", {
    auth: who.credentials,
    body: { message: { rid, msg, ...extra } },
  });
  expect(res.status).toBe(200);
  return res.body.message as Sent;
}

function get(who: Person, path: string, query: Record<string, string>) {
  return api(server, path, { auth: who.credentials, query });
}

async function subscription(who: Person, rid: string) {
  return (await get(who, "subscriptions.getOne", { roomId: rid })).body.subscription;
}

async function lastMessageId(rid: string) {
  return (await get(ann, "rooms.info", { roomId: rid })).body.room.lastMessage?._id;
}

test("a reply becomes the room's last message only when shown in the room, and never counts as unread", async () => {
  const dm = await api(server, "im.create", {
    auth: ann.credentials,
    body: { username: bob.username },
  });
  const rid = dm.body.room._id as string;
  const parent = await send(ann, rid, "lunch?");
  await api(server, "subscriptions.read", { auth: bob.credentials, body: { rid } });

  const hidden = await send(ann, rid, "at noon", { tmid: parent._id });
  const afterHidden = await subscription(bob, rid);
  expect({
    unread: afterHidden.unread,
    alert: afterHidden.alert,
    tunread: afterHidden.tunread,
  }).toEqual({
    unread: 0,
    alert: true,
    tunread: [parent._id],
  });
  expect(await lastMessageId(rid)).toBe(parent._id);

  const shown = await send(ann, rid, "at noon, really", { tmid: parent._id, tshow: true });
  expect(shown).toMatchObject({ tmid: parent._id, tshow: true });
  expect((await subscription(bob, rid)).unread).toBe(0);
  expect(await lastMessageId(rid)).toBe(shown._id);
  expect(hidden).not.toHaveProperty("tshow");
});

test("a reply in a channel alerts the thread's followers and leaves the others alone", async () => {
  const rid = await channel();
  const parent = await send(ann, rid, "who has the keys?");
  await api(server, "subscriptions.read", { auth: ann.credentials, body: { rid } });
  await api(server, "subscriptions.read", { auth: cid.credentials, body: { rid } });

  await send(bob, rid, "I do", { tmid: parent._id });

  const pick = (s: { alert: boolean; tunread?: string[] }) => ({
    alert: s.alert,
    tunread: s.tunread,
  });
  expect(pick(await subscription(ann, rid))).toEqual({ alert: true, tunread: [parent._id] });
  expect(pick(await subscription(cid, rid))).toEqual({ alert: false, tunread: undefined });
});

test("the thread list shows all threads, the followed ones or the caller's unread ones, matching a text", async () => {
  const rid = await channel();
  const deploy = await send(ann, rid, "Deploy window tonight");
  const lunch = await send(ann, rid, "Team lunch on Friday");
  await send(ann, rid, "no thread here");
  await send(bob, rid, "ok", { tmid: deploy._id });
  await send(cid, rid, "count me in", { tmid: lunch._id });
  const call = { msg: "method", id: "1", method: "readThreads", params: [lunch._id] };
  await api(server, "method.call/readThreads", {
    auth: ann.credentials,
    body: { message: JSON.stringify(call) },
  });

  const ids = async (who: Person, query: Record<string, string>) => {
    const res = await get(who, "chat.getThreadsList", { rid, ...query });
    expect(res.status).toBe(200);
    return res.body.threads.map((t: { _id: string }) => t._id);
  };
  expect(await ids(ann, {})).toEqual([lunch._id, deploy._id]);
  expect(await ids(ann, { type: "all" })).toEqual([lunch._id, deploy._id]);
  expect(await ids(ann, { type: "unread" })).toEqual([deploy._id]);
  expect(await ids(bob, { type: "following" })).toEqual([deploy._id]);
  expect(await ids(ann, { text: "DEPLOY" })).toEqual([deploy._id]);
  const page = await get(ann, "chat.getThreadsList", { rid, count: "1", offset: "1" });
  expect({ ...page.body, threads: page.body.threads.length }).toEqual({
    threads: 1,
    count: 1,
    offset: 1,
    total: 2,
    success: true,
  });
});

test("a thread's replies come oldest first, paged, with the total", async () => {
  const rid = await channel();
  const parent = await send(ann, rid, "retro notes");
  const first = await send(bob, rid, "one", { tmid: parent._id });
  const second = await send(cid, rid, "two", { tmid: parent._id, tshow: true });

  const all = await get(ann, "chat.getThreadMessages", { tmid: parent._id });
  expect(all.body.messages.map((m: Sent) => m._id)).toEqual([first._id, second._id]);
  const page = await get(ann, "chat.getThreadMessages", {
    tmid: parent._id,
    count: "1",
    offset: "1",
  });
  expect({ ...page.body, messages: page.body.messages.map((m: Sent) => m._id) }).toEqual({
    messages: [second._id],
    count: 1,
    offset: 1,
    total: 2,
    success: true,
  });
});

test("deleting a reply counts it out of its thread and drops the thread from everyone's unread", async () => {
  const rid = await channel();
  const parent = await send(ann, rid, "release notes");
  await send(bob, rid, "draft ready", { tmid: parent._id });
  const since = new Date().toISOString();
  const second = await send(cid, rid, "typo in line 3", { tmid: parent._id });

  const deleted = await api(server, "chat.delete", {
    auth: cid.credentials,
    body: { roomId: rid, msgId: second._id },
  });
  expect(deleted.status).toBe(200);

  const parentNow = (await get(ann, "chat.getMessage", { msgId: parent._id })).body.message;
  expect(parentNow.tcount).toBe(1);
  expect((await subscription(ann, rid)).tunread).toEqual([]);
  const synced = await get(ann, "chat.syncThreadMessages", {
    tmid: parent._id,
    updatedSince: since,
  });
  expect(synced.body.messages.update).toEqual([]);
  expect(synced.body.messages.remove.map((m: Sent) => m._id)).toEqual([second._id]);
  const threads = await get(ann, "chat.syncThreadsList", { rid, updatedSince: since });
  expect(threads.body.threads.update.map((m: Sent) => m._id)).toEqual([parent._id]);
  expect(threads.body.threads.remove).toEqual([]);
});

test("the thread routes answer bad parameters with Rocket.Chat's validation errors", async () => {
  const rid = await channel();
  const failures = [
    await get(ann, "chat.getThreadsList", {}),
    await get(ann, "chat.getThreadsList", { rid, type: "mine" }),
    await get(ann, "chat.syncThreadsList", { rid }),
    await get(ann, "chat.syncThreadsList", { rid, updatedSince: "yesterday" }),
    await get(ann, "chat.getThreadMessages", { tmid: "" }),
    await api(server, "chat.followMessage", { auth: ann.credentials, body: {} }),
  ];

  expect(failures.map((f) => [f.status, f.body.errorType, f.body.error])).toEqual([
    [400, "invalid-params", "must have required property 'rid' [invalid-params]"],
    [400, "invalid-params", "must be equal to one of the allowed values [invalid-params]"],
    [400, "invalid-params", "must have required property 'updatedSince' [invalid-params]"],
    [400, "invalid-params", 'must match format "iso-date-time" [invalid-params]'],
    [400, "invalid-params", "must NOT have fewer than 1 characters [invalid-params]"],
    [400, "invalid-params", "must have required property 'mid' [invalid-params]"],
  ]);
});

test("a user who may not read the room learns nothing of its threads", async () => {
  const rid = await channel("groups", [bob]);
  const parent = await send(ann, rid, "secret plan");
  await send(bob, rid, "agreed", { tmid: parent._id });
  const since = "2020-01-01T00:00:00.000Z";

  const failures = [
    await get(cid, "chat.getThreadsList", { rid }),
    await get(cid, "chat.syncThreadsList", { rid, updatedSince: since }),
    await get(cid, "chat.getThreadMessages", { tmid: parent._id }),
    await get(cid, "chat.syncThreadMessages", { tmid: parent._id, updatedSince: since }),
    await api(server, "chat.followMessage", { auth: cid.credentials, body: { mid: parent._id } }),
    await get(cid, "chat.getThreadMessages", { tmid: "nosuchmessage" }),
    await api(server, "chat.unfollowMessage", { auth: cid.credentials, body: { mid: "nosuch" } }),
  ];

  expect(failures.map((f) => [f.status, f.body.error])).toEqual([
    [400, "Not Allowed [error-not-allowed]"],
    [400, "Not Allowed [error-not-allowed]"],
    [400, "Not Allowed [error-not-allowed]"],
    [400, "Not Allowed [error-not-allowed]"],
    [400, "not-allowed [error-not-allowed]"],
    [400, "Invalid Message [error-invalid-message]"],
    [400, "Invalid message [error-invalid-message]"],
  ]);
  const parentNow = (await get(ann, "chat.getMessage", { msgId: parent._id })).body.message;
  expect(parentNow.replies).toEqual([ann._id, bob._id]);
});

test("with threads turned off, thread routes and replies are refused and plain messages still go", async () => {
  const rid = await channel();
  const parent = await send(ann, rid, "before the switch");
  const { settings, deps } = server.parley.services;
  await deps.db.settings.updateOne({ _id: "Threads_enabled" }, { $set: { value: false } });
  await settings.reload();
  try {
    const list = await get(ann, "chat.getThreadsList", { rid });
    const follow = await api(server, "chat.followMessage", {
      auth: ann.credentials,
      body: { mid: parent._id },
    });
    const reply = await api(server, "chat.sendMessage", {
      auth: bob.credentials,
      body: { message: { rid, msg: "too late", tmid: parent._id } },
    });

    expect([list.body.error, follow.body.error, reply.body.error]).toEqual([
      "Threads Disabled [error-not-allowed]",
      "not-allowed [error-not-allowed]",
      "not-allowed [error-not-allowed]",
    ]);
    expect((await send(bob, rid, "plain message")).rid).toBe(rid);
  } finally {
    await deps.db.settings.updateOne({ _id: "Threads_enabled" }, { $set: { value: true } });
    await settings.reload();
  }
});

test("reading a thread clears the room's alert only once no thread is left unread", async () => {
  const rid = await channel();
  const first = await send(ann, rid, "first topic");
  const second = await send(ann, rid, "second topic");
  await api(server, "subscriptions.read", { auth: ann.credentials, body: { rid } });
  await send(bob, rid, "on the first", { tmid: first._id });
  await send(bob, rid, "on the second", { tmid: second._id });
  const readThread = (tmid: string) =>
    api(server, "method.call/readThreads", {
      auth: ann.credentials,
      body: {
        message: JSON.stringify({ msg: "method", id: "1", method: "readThreads", params: [tmid] }),
      },
    });
  const pick = async () => {
    const sub = await subscription(ann, rid);
    return { alert: sub.alert, tunread: sub.tunread };
  };

  await readThread(first._id);
  expect(await pick()).toEqual({ alert: true, tunread: [second._id] });
  await readThread(second._id);
  expect(await pick()).toEqual({ alert: false, tunread: [] });
});

test("deleting a thread's parent drops the thread from everyone's unread threads", async () => {
  const rid = await channel();
  const parent = await send(ann, rid, "vote: tabs or spaces");
  await send(bob, rid, "tabs", { tmid: parent._id });
  expect((await subscription(ann, rid)).tunread).toEqual([parent._id]);

  const deleted = await api(server, "chat.delete", {
    auth: ann.credentials,
    body: { roomId: rid, msgId: parent._id },
  });

  expect(deleted.status).toBe(200);
  expect((await subscription(ann, rid)).tunread).toEqual([]);
});

test("a room's history without thread messages still shows the replies shown in the room", async () => {
  const rid = await channel();
  const parent = await send(ann, rid, "menu for the party");
  await send(bob, rid, "pizza", { tmid: parent._id });
  const shown = await send(cid, rid, "pizza for everyone", { tmid: parent._id, tshow: true });

  const history = await get(ann, "channels.history", { roomId: rid, showThreadMessages: "false" });

  const ids = history.body.messages.map((m: Sent) => m._id);
  expect(ids.filter((id: string) => id === shown._id || id === parent._id)).toEqual([
    shown._id,
    parent._id,
  ]);
  expect(
    history.body.messages.filter((m: Sent & { tmid?: string }) => m.tmid && m._id !== shown._id),
  ).toEqual([]);
});
