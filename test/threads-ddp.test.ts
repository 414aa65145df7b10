/**
 * Threads over DDP with the real `@rocket.chat/ddp-client`: a conversation among three
 * users, each on their own client, with the parent's counters and each user's unread
 * threads checked at every step, both as the server answers them and as each user's
 * `subscriptions-changed` stream last announced them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DDPSDK } from "@rocket.chat/ddp-client";
import { type SeededUser, seedUser, sha256 } from "./ddp-helpers.ts";
import { startTestServer, type TestServer } from "./helpers.ts";

type Message = { _id: string; ts: Date; tmid?: string; tcount?: number; replies?: string[] };
type Sub = { rid: string; tunread?: string[]; tunreadUser?: string[] };

/** One user on their own ddp-client, with the subscriptions its stream last announced. */
interface Client {
  readonly user: SeededUser;
  readonly sdk: DDPSDK;
  readonly announced: Map<string, Sub>;
  /** Resolves once the stream's latest announcement for `rid` has `tunread` as given. */
  announces(rid: string, tunread: string[]): Promise<void>;
}

let server: TestServer;
let ann: Client;
let bob: Client;
let cid: Client;
const opened: DDPSDK[] = [];

async function client(prefix: string): Promise<Client> {
  const user = await seedUser(server, prefix);
  const sdk = await DDPSDK.createAndConnect(server.url);
  opened.push(sdk);
  await sdk.account.loginWithPassword(user.username, sha256(user.password));
  const announced = new Map<string, Sub>();
  const waiting: (() => void)[] = [];
  const stream = sdk.stream("notify-user", `${user._id}/subscriptions-changed`, (...args) => {
    const sub = args[1] as Sub;
    announced.set(sub.rid, sub);
    for (const check of waiting.splice(0)) check();
  });
  await stream.ready();
  const announces = (rid: string, tunread: string[]) =>
    new Promise<void>((resolve) => {
      const check = () => {
        const now = announced.get(rid)?.tunread ?? [];
        if (JSON.stringify(now) === JSON.stringify(tunread)) resolve();
        else waiting.push(check);
      };
      check();
    });
  return { user, sdk, announced, announces };
}

beforeAll(async () => {
  server = await startTestServer();
  [ann, bob, cid] = [await client("ann"), await client("bob"), await client("cid")];
});

afterAll(async () => {
  for (const sdk of opened) {
    sdk.timeoutControl.stop();
    sdk.connection.close();
  }
  await server.stop();
});

function send(who: Client, rid: string, msg: string, tmid?: string): Promise<Message> {
  return who.sdk.call("sendMessage", { rid, msg, ...(tmid && { tmid }) }) as Promise<Message>;
}

/** The parent's thread fields (from the room's history) and each user's unread threads. */
async function threadState(rid: string, tmid: string) {
  const history = (await ann.sdk.call("loadHistory", rid, null, 50, null)) as {
    messages: Message[];
  };
  const parent = history.messages.find((m) => m._id === tmid) as Message & { tlm?: Date };
  const unread = async (who: Client) => {
    const subs = (await who.sdk.call("subscriptions/get")) as Sub[];
    return subs.find((s) => s.rid === rid)?.tunread ?? [];
  };
  return {
    parent: { tcount: parent.tcount, tlm: parent.tlm, replies: parent.replies },
    tunread: { ann: await unread(ann), bob: await unread(bob), cid: await unread(cid) },
  };
}

test("a thread among three ddp-client users keeps the parent's counters and everyone's unread threads exact", async () => {
  const created = (await ann.sdk.call("createChannel", `ddp-threads-${Date.now()}`, [
    bob.user.username,
    cid.user.username,
  ])) as { rid: string };
  const rid = created.rid;
  const P = (await send(ann, rid, "who reviews the release?"))._id;
  const [A, B, C] = [ann.user._id, bob.user._id, cid.user._id];

  const first = await send(bob, rid, "I can", P);
  expect(first.tmid).toBe(P);
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 1, tlm: first.ts, replies: [A, B] },
    tunread: { ann: [P], bob: [], cid: [] },
  });
  await ann.announces(rid, [P]);

  await cid.sdk.call("followMessage", { mid: P });
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 1, tlm: first.ts, replies: [A, B, C] },
    tunread: { ann: [P], bob: [], cid: [] },
  });

  const second = await send(ann, rid, "thanks, Friday then", P);
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 2, tlm: second.ts, replies: [A, B, C] },
    tunread: { ann: [P], bob: [P], cid: [P] },
  });
  await Promise.all([bob.announces(rid, [P]), cid.announces(rid, [P])]);

  await bob.sdk.call("unfollowMessage", { mid: first._id });
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 2, tlm: second.ts, replies: [A, C] },
    tunread: { ann: [P], bob: [], cid: [P] },
  });
  await bob.announces(rid, []);

  await cid.sdk.call("readThreads", P);
  expect((await threadState(rid, P)).tunread).toEqual({ ann: [P], bob: [], cid: [] });
  await cid.announces(rid, []);

  const third = await send(cid, rid, `@${bob.user.username} please double-check`, P);
  expect(await threadState(rid, P)).toEqual({
    parent: { tcount: 3, tlm: third.ts, replies: [A, C, B] },
    tunread: { ann: [P], bob: [P], cid: [] },
  });
  await bob.announces(rid, [P]);
  expect(bob.announced.get(rid)?.tunreadUser).toEqual([P]);

  const read = (await ann.sdk.call("getThreadMessages", { tmid: P })) as Message[];
  expect(read.map((m) => m._id)).toEqual([P, third._id, second._id, first._id]);
  expect((await threadState(rid, P)).tunread).toEqual({ ann: [], bob: [P], cid: [] });
  await ann.announces(rid, []);
});

test("the room's listeners see the parent with its new counters after each reply", async () => {
  const created = (await ann.sdk.call("createPrivateGroup", `ddp-threads-${Date.now()}`, [
    bob.user.username,
  ])) as { rid: string };
  const rid = created.rid;
  const parent = await send(ann, rid, "standup moved?");
  const seen: Message[] = [];
  let counted: () => void = () => {};
  const twoReplies = new Promise<void>((resolve) => (counted = resolve));
  const stream = bob.sdk.stream("room-messages", rid, (...args) => {
    const message = args[0] as Message;
    if (message._id !== parent._id) return;
    seen.push(message);
    if (message.tcount === 2) counted();
  });
  await stream.ready();

  await send(bob, rid, "yes, to 10", parent._id);
  await send(ann, rid, "ok", parent._id);
  await twoReplies;
  stream.stop();

  expect(seen.map((m) => [m.tcount, m.replies])).toEqual([
    [1, [ann.user._id, bob.user._id]],
    [2, [ann.user._id, bob.user._id]],
  ]);
  const listed = (await bob.sdk.call("getThreadsList", { rid })) as Message[];
  expect(listed.map((m) => [m._id, m.tcount])).toEqual([[parent._id, 2]]);
});

test("the thread methods answer Rocket.Chat's errors, and nothing for what is not a thread", async () => {
  const created = (await ann.sdk.call("createPrivateGroup", `ddp-threads-${Date.now()}`, [
    bob.user.username,
  ])) as { rid: string };
  const rid = created.rid;
  const parent = await send(ann, rid, "not a thread yet");
  const failure = (error: string, reason: string) => ({ error, reason });

  await expect(cid.sdk.call("getThreadsList", { rid })).rejects.toMatchObject(
    failure("error-not-allowed", "Not Allowed"),
  );
  await expect(cid.sdk.call("getThreadMessages", { tmid: parent._id })).rejects.toMatchObject(
    failure("error-not-allowed", "Not allowed"),
  );
  await expect(cid.sdk.call("followMessage", { mid: parent._id })).rejects.toMatchObject(
    failure("error-not-allowed", "not-allowed"),
  );
  await expect(ann.sdk.call("unfollowMessage", { mid: "nosuchmessage" })).rejects.toMatchObject(
    failure("error-invalid-message", "Invalid message"),
  );
  await expect(
    ann.sdk.call("getThreadMessages", { tmid: parent._id, limit: 101 }),
  ).rejects.toMatchObject(failure("error-not-allowed", "max limit: 100"));
  expect(await ann.sdk.call("getThreadMessages", { tmid: parent._id })).toEqual([]);
  expect(await ann.sdk.call("getThreadMessages", { tmid: "nosuchmessage" })).toEqual([]);
  expect(await ann.sdk.call("getThreadsList", { rid })).toEqual([]);
  expect(await ann.sdk.call("readThreads", "nosuchmessage")).toBeUndefined();
});

test("a follower is notified of a reply, with the thread it belongs to", async () => {
  const created = (await ann.sdk.call("createPrivateGroup", `ddp-threads-${Date.now()}`, [
    bob.user.username,
  ])) as { rid: string };
  const parent = await send(ann, created.rid, "anyone seen the projector?");
  let notified: (payload: unknown) => void = () => {};
  const notification = new Promise<unknown>((resolve) => (notified = resolve));
  const stream = ann.sdk.stream("notify-user", `${ann.user._id}/notification`, (...args) =>
    notified(args[0]),
  );
  await stream.ready();

  const reply = await send(bob, created.rid, "in room 2", parent._id);

  expect(await notification).toMatchObject({
    text: "in room 2",
    payload: { _id: reply._id, rid: created.rid, tmid: parent._id, sender: { _id: bob.user._id } },
  });
  stream.stop();
});
