/**
 * What agents and managers do to conversations, over REST and DDP: joining one, editing
 * its visitor and details, listing conversations with filters, summing up who serves how
 * many, naming the next agent, and Rocket.Chat's refusals of each, of taking an inquiry,
 * of forwarding and of returning a conversation to its queue.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  api,
  createUser,
  RawDdp,
  setSettings,
  startTestServer,
  type TestServer,
} from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

let server: TestServer;
let alice: Agent;
let bob: Agent;

beforeAll(async () => {
  server = await startTestServer();
  // Agents take conversations by hand here, so that each test knows who serves what.
  await setting("Livechat_Routing_Method", "Manual_Selection");
  alice = await startAgent(server, "alice");
  bob = await startAgent(server, "bob");
});

afterAll(async () => {
  alice.close();
  bob.close();
  await server.stop();
});

function setting(id: string, value: unknown) {
  return setSettings(server, { [id]: value });
}

/** A new visitor's conversation, taken by `agent` when given. */
async function conversation(agent?: Agent, visitorExtra: Record<string, unknown> = {}) {
  const { token, visitor } = await newVisitor(server, visitorExtra);
  const opened = await api(server, "livechat/room", { query: { token } });
  const room = opened.body.room as { _id: string; fname: string };
  const found = await api(server, "livechat/inquiries.getOne", {
    auth: server.admin,
    query: { roomId: room._id },
  });
  const inquiry = found.body.inquiry as { _id: string };
  if (agent) {
    const taken = await api(server, "livechat/inquiries.take", {
      auth: agent.credentials,
      body: { inquiryId: inquiry._id },
    });
    if (taken.status !== 200) throw new Error(`take failed: ${JSON.stringify(taken.body)}`);
  }
  return { token, visitor, room, inquiry };
}

/** A logged-in user with no Omnichannel role. */
async function plainUser() {
  return (await createUser(server)).credentials;
}

function plain(error: string) {
  return { success: false, error };
}

/** Rocket.Chat's 403 for a route's missing permission. */
const NOT_PERMITTED = {
  success: false,
  error: "User does not have the permissions required for this action [error-unauthorized]",
};

test("an agent joins a conversation waiting in their queue and is subscribed to it", async () => {
  const { room } = await conversation();

  const joined = await api(server, "livechat/room.join", {
    auth: bob.credentials,
    query: { roomId: room._id },
  });

  expect(joined.body).toEqual({ success: true });
  const { db } = server.parley.services.deps;
  expect(await db.subscriptions.findOne({ rid: room._id, "u._id": bob.user._id })).toMatchObject({
    rid: room._id,
  });
  const notice = await db.messages.findOne({ rid: room._id, t: "uj" });
  expect(notice?.u).toMatchObject({ _id: bob.user._id });
});

test("room.join refuses what Rocket.Chat refuses", async () => {
  const served = await conversation(alice);
  const closed = await conversation(alice);
  await api(server, "livechat/room.closeByUser", {
    auth: alice.credentials,
    body: { rid: closed.room._id, comment: "done" },
  });
  const join = (auth: typeof alice.credentials, query: Record<string, string>) =>
    api(server, "livechat/room.join", { auth, query });

  const missing = await join(alice.credentials, {});
  const unknown = await join(alice.credentials, { roomId: "no-such-room" });
  const ended = await join(server.admin, { roomId: closed.room._id });
  const notTheirs = await join(bob.credentials, { roomId: served.room._id });
  const noRole = await join(await plainUser(), { roomId: served.room._id });

  expect(missing.status).toBe(400);
  expect(missing.body).toMatchObject({ success: false, errorType: "invalid-params" });
  expect([unknown.status, unknown.body]).toEqual([400, plain("error-invalid-room")]);
  expect([ended.status, ended.body]).toEqual([400, plain("room-closed")]);
  expect([notTheirs.status, notTheirs.body]).toEqual([400, plain("error-not-allowed")]);
  expect([noRole.status, noRole.body]).toEqual([403, NOT_PERMITTED]);
});

test("the serving agent saves the visitor's details and the room's topic, tags and fields", async () => {
  const { room, visitor } = await conversation(alice);
  const ddp = await RawDdp.connect(server.wsUrl);
  await ddp.resume(alice.credentials.authToken);
  await ddp.sub("stream-notify-user", `${alice.user._id}/rooms-changed`, false);
  const renamed = ddp.streamEvent(
    "stream-notify-user",
    `${alice.user._id}/rooms-changed`,
    (args) => (args[1] as { fname?: string }).fname === "Grace Hopper",
  );

  const saved = await api(server, "livechat/room.saveInfo", {
    auth: alice.credentials,
    body: {
      guestData: {
        _id: visitor._id,
        name: " Grace Hopper ",
        email: "grace@example.com",
        phone: "+1 555 0100",
        livechatData: { plan: "gold" },
      },
      roomData: {
        _id: room._id,
        topic: "  billing  ",
        tags: ["invoice", "refund"],
        livechatData: { order: "A-17", "bad.key": "dropped" },
      },
    },
  });

  expect(saved.body).toEqual({ success: true });
  expect((await renamed)[0]).toBe("updated");
  const { db } = server.parley.services.deps;
  expect(await db.rooms.findOne({ _id: room._id })).toMatchObject({
    fname: "Grace Hopper",
    topic: "billing",
    tags: ["invoice", "refund"],
    livechatData: { order: "A-17" },
  });
  expect(await db.livechatVisitors.findOne({ _id: visitor._id })).toMatchObject({
    name: "Grace Hopper",
    visitorEmails: [{ address: "grace@example.com" }],
    phone: [{ phoneNumber: "+1 555 0100" }],
    livechatData: { plan: "gold" },
  });
  expect(await db.subscriptions.findOne({ rid: room._id, "u._id": alice.user._id })).toMatchObject({
    name: "Grace Hopper",
    fname: "Grace Hopper",
  });
  ddp.close();
});

test("saving without tags or with a blank topic removes them", async () => {
  const { room, visitor } = await conversation(alice);
  const save = (roomData: Record<string, unknown>) =>
    api(server, "livechat/room.saveInfo", {
      auth: alice.credentials,
      body: { guestData: { _id: visitor._id }, roomData: { _id: room._id, ...roomData } },
    });
  await save({ topic: "first", tags: ["one"] });

  await save({ topic: "   " });

  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(stored?.topic).toBeUndefined();
  expect(stored?.tags).toBeUndefined();
});

test("room.saveInfo refuses bad input and whoever neither serves nor may edit others' rooms", async () => {
  const { room, visitor } = await conversation(alice);
  const save = (auth: typeof alice.credentials, body: unknown) =>
    api(server, "livechat/room.saveInfo", { auth, body });
  const valid = { guestData: { _id: visitor._id }, roomData: { _id: room._id } };

  const empty = await save(alice.credentials, {});
  const wrongType = await save(alice.credentials, { ...valid, roomData: "room" });
  const otherAgent = await save(bob.credentials, valid);
  const noRole = await save(await plainUser(), valid);
  const unknownRoom = await save(alice.credentials, { ...valid, roomData: { _id: "nope" } });
  const unknownGuest = await save(alice.credentials, { ...valid, guestData: { _id: "nope" } });
  const byManager = await save(server.admin, { ...valid, roomData: { _id: room._id, topic: "m" } });

  for (const res of [empty, wrongType]) {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  }
  expect([otherAgent.status, otherAgent.body]).toEqual([403, plain("unauthorized")]);
  expect([noRole.status, noRole.body]).toEqual([403, NOT_PERMITTED]);
  expect([unknownRoom.status, unknownRoom.body]).toEqual([400, plain("error-invalid-room")]);
  expect([unknownGuest.status, unknownGuest.body]).toEqual([400, plain("error-invalid-visitor")]);
  expect(byManager.body).toEqual({ success: true });
});

test("livechat:saveInfo over DDP saves for the serving agent and refuses another", async () => {
  const { room, visitor } = await conversation(alice);
  const ddp = await RawDdp.connect(server.wsUrl);
  await ddp.resume(alice.credentials.authToken);
  const other = await RawDdp.connect(server.wsUrl);
  await other.resume(bob.credentials.authToken);

  const saved = await ddp.call(
    "livechat:saveInfo",
    { _id: visitor._id },
    { _id: room._id, topic: "ddp" },
  );
  const refused = await other.call("livechat:saveInfo", { _id: visitor._id }, { _id: room._id });
  const malformed = await ddp.call("livechat:saveInfo", { _id: visitor._id }, { _id: 7 });

  expect(saved.result).toBe(true);
  expect((await server.parley.services.deps.db.rooms.findOne({ _id: room._id }))?.topic).toBe(
    "ddp",
  );
  expect(refused.error).toMatchObject({
    error: "error-not-allowed",
    reason: "Not allowed",
    details: { method: "livechat:saveInfo" },
  });
  expect(malformed.error).toMatchObject({ error: 400, reason: "Match failed" });
  ddp.close();
  other.close();
});
