/**
 * What a visitor's widget reports and hears besides messages: the pages it opens
 * (`livechat/page.visited`), its presence (`livechat/visitor.status`), the older widget's
 * `livechat:getInitialData`, one open room however many `livechat/room` calls race, and the
 * agent changes it is told of on `stream-livechat-room` when its chat is forwarded or
 * returned to the queue.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { api, RawDdp, setSettings, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

let server: TestServer;
const agents: Agent[] = [];
const clients: RawDdp[] = [];
const PAGE = { change: "url", title: "Pricing", location: { href: "https://shop.example.com/p" } };

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.close();
  for (const client of clients.splice(0)) client.close();
  await setSettings(server, { Livechat_accept_chats_with_no_agents: false });
});

afterAll(async () => {
  await server.stop();
});

/** A visitor with an open room, queued (no agent needed). */
async function queuedVisitor() {
  await setSettings(server, { Livechat_accept_chats_with_no_agents: true });
  const { token, visitor } = await newVisitor(server);
  const room = (await api(server, "livechat/room", { query: { token } })).body.room;
  return { token, visitor, room };
}

/** A raw DDP client listening to the room's livechat stream with the visitor's token. */
async function visitorStream(rid: string, token: string) {
  const ddp = await RawDdp.connect(server.wsUrl);
  clients.push(ddp);
  const ready = await ddp.sub("stream-livechat-room", rid, {
    useCollection: false,
    args: [{ token, visitorToken: token }],
  });
  expect(ready.msg).toBe("ready");
  return ddp;
}

describe("livechat/page.visited", () => {
  test("records the page in the visitor's room, hidden unless navigation is shown as messages", async () => {
    const { token, room } = await queuedVisitor();
    const { db } = server.parley.services.deps;

    const hidden = await api(server, "livechat/page.visited", {
      body: { token, rid: room._id, pageInfo: PAGE },
    });
    await setSettings(server, { Livechat_Visitor_navigation_as_a_message: true });
    const shown = await api(server, "livechat/page.visited", {
      body: { token, rid: room._id, pageInfo: { ...PAGE, title: "Cart" } },
    });
    await setSettings(server, { Livechat_Visitor_navigation_as_a_message: false });

    const navigation = { page: PAGE, token };
    expect(hidden.body).toEqual({
      success: true,
      page: { msg: "Pricing - https://shop.example.com/p", navigation },
    });
    expect(shown.body.page.msg).toBe("Cart - https://shop.example.com/p");
    const records = await db.messages.find(
      { rid: room._id, t: "livechat_navigation_history" },
      { sort: { ts: 1 } },
    );
    expect(records).toMatchObject([
      {
        msg: "Pricing - https://shop.example.com/p",
        u: { _id: "rocket.cat" },
        navigation,
        _hidden: true,
      },
      { msg: "Cart - https://shop.example.com/p", u: { _id: "rocket.cat" } },
    ]);
    expect(records[1]?._hidden).toBeUndefined();
    const history = await api(server, `livechat/messages.history/${room._id}`, {
      query: { token },
    });
    expect(history.body.messages.map((m: { msg: string }) => m.msg)).toEqual([
      "Cart - https://shop.example.com/p",
    ]);
  });

  test("a change the monitor does not watch is acknowledged alone; no room, nothing kept", async () => {
    const { token, room } = await queuedVisitor();
    const { db } = server.parley.services.deps;

    const title = await api(server, "livechat/page.visited", {
      body: { token, rid: room._id, pageInfo: { ...PAGE, change: "title" } },
    });
    const noRoom = await api(server, "livechat/page.visited", {
      body: { token: "someone-else", rid: "no-such-room", pageInfo: PAGE },
    });

    expect(title.body).toEqual({ success: true });
    expect(noRoom.body.page.navigation).toEqual({ page: PAGE, token: "someone-else" });
    expect(await db.messages.countDocuments({ "navigation.token": "someone-else" })).toBe(0);
    expect(
      await db.messages.countDocuments({ rid: room._id, t: "livechat_navigation_history" }),
    ).toBe(0);
  });

  test("refuses missing or malformed fields with invalid-params", async () => {
    const bodies = [
      {},
      { token: "t", rid: {} },
      { token: "t", rid: "r" },
      { token: "t", rid: "r", pageInfo: {} },
      { token: "t", pageInfo: { change: "url", title: "x", location: {} } },
    ];
    for (const body of bodies) {
      const res = await api(server, "livechat/page.visited", { body });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
    }
  });
});

describe("livechat/visitor.status", () => {
  test("sets the visitor's status on their open room and waiting inquiry", async () => {
    const { token, room } = await queuedVisitor();
    const { db } = server.parley.services.deps;

    const res = await api(server, "livechat/visitor.status", { body: { token, status: "away" } });

    expect(res.body).toEqual({ success: true, token, status: "away" });
    expect((await db.rooms.findOne({ _id: room._id }))?.v).toMatchObject({ token, status: "away" });
    expect((await db.livechatInquiries.findOne({ rid: room._id }))?.v).toMatchObject({
      status: "away",
    });
  });

  test("refuses an unknown token, an unknown status and missing fields", async () => {
    const { token } = await newVisitor(server);

    const unknown = await api(server, "livechat/visitor.status", {
      body: { token: "no-such-token", status: "away" },
    });
    const badStatus = await api(server, "livechat/visitor.status", {
      body: { token, status: "sleeping" },
    });
    const missing = await api(server, "livechat/visitor.status", { body: { token } });

    expect(unknown.body).toEqual({
      success: false,
      error: "Invalid token [invalid-token]",
      errorType: "invalid-token",
    });
    expect(badStatus.body).toMatchObject({ success: false, errorType: "error-invalid-status" });
    expect(missing.body).toMatchObject({ success: false, errorType: "invalid-params" });
    for (const res of [unknown, badStatus, missing]) expect(res.status).toBe(400);
  });
});

describe("livechat:getInitialData", () => {
  test("answers the widget's settings, the visitor, their open room and its agent", async () => {
    const agent = await startAgent(server, "initial.agent");
    agents.push(agent);
    const { token } = await newVisitor(server, { email: "v@example.com" });
    const ddp = await RawDdp.connect(server.wsUrl);
    clients.push(ddp);

    const before = await ddp.call("livechat:getInitialData", token);
    const room = (await api(server, "livechat/room", { query: { token } })).body.room;
    const after = await ddp.call("livechat:getInitialData", token);
    const bad = await ddp.call("livechat:getInitialData", 42);

    expect(before.result).toMatchObject({
      enabled: true,
      title: "Rocket.Chat",
      room: null,
      visitor: {
        username: expect.stringMatching(/^guest-/),
        visitorEmails: [{ address: "v@example.com" }],
      },
      triggers: [],
      online: true,
      showConnecting: false,
    });
    expect((before.result as Record<string, unknown>).agentData).toBeUndefined();
    expect(after.result).toMatchObject({
      room: { _id: room._id, t: "l", v: { token }, servedBy: { _id: agent.user._id } },
      agentData: { _id: agent.user._id, username: agent.user.username },
    });
    expect(bad.error).toMatchObject({ error: 400, reason: "Match failed" });
  });
});

// Over HTTP the requests of one process seldom interleave inside openRoom; the test below
// drives the service itself, where they do. Both hold with several processes too, since
// the lock lives in the store.
test("many concurrent livechat/room calls with one token open one room", async () => {
  await setSettings(server, { Livechat_accept_chats_with_no_agents: true });
  const { db } = server.parley.services.deps;
  const visitors = await Promise.all([1, 2, 3].map(() => newVisitor(server)));

  const answers = await Promise.all(
    visitors.flatMap(({ token }) =>
      Array.from({ length: 25 }, () => api(server, "livechat/room", { query: { token } })),
    ),
  );

  expect(answers.every((res) => res.status === 200)).toBe(true);
  for (const { token } of visitors) {
    const rooms = await db.rooms.find({ t: "l", "v.token": token, open: true });
    expect(rooms).toHaveLength(1);
    const mine = answers.filter((res) => res.body.room.v.token === token);
    expect(new Set(mine.map((res) => res.body.room._id))).toEqual(new Set([rooms[0]?._id]));
    expect(mine.filter((res) => res.body.newRoom)).toHaveLength(1);
    expect(await db.livechatInquiries.countDocuments({ "v.token": token })).toBe(1);
  }
});

describe("stream-livechat-room", () => {
  test("the visitor hears the agent leave when the chat returns to the queue, then the next one", async () => {
    const first = await startAgent(server, "stream.first");
    agents.push(first);
    const { token } = await newVisitor(server);
    const room = (await api(server, "livechat/room", { query: { token } })).body.room;
    expect(room.servedBy._id).toBe(first.user._id);
    const ddp = await visitorStream(room._id, token);
    const left = ddp.streamEvent("stream-livechat-room", room._id, (args) => {
      const event = args[0] as { type: string; data?: unknown };
      return event.type === "agentData" && event.data === undefined;
    });
    const queued = ddp.streamEvent(
      "stream-livechat-room",
      room._id,
      (args) => (args[0] as { type: string }).type === "queueData",
    );

    await first.sdk.call("livechat/changeLivechatStatus", { status: "not-available" });
    await first.sdk.call("livechat:returnAsInquiry", room._id);

    expect((await left)[0]).toEqual({ type: "agentData" });
    expect((await queued)[0]).toEqual({
      type: "queueData",
      data: { spot: 1, message: { user: { _id: "rocket.cat", username: "rocket.cat" } } },
    });
    const second = await startAgent(server, "stream.second");
    agents.push(second);
    const served = await ddp.streamEvent("stream-livechat-room", room._id, (args) => {
      const event = args[0] as { type: string; data?: { _id?: string } };
      return event.type === "agentData" && event.data?._id === second.user._id;
    });
    expect(served[0]).toMatchObject({ data: { username: second.user.username } });
  });
});

test("concurrent openings of one visitor's conversation inside the service make one room", async () => {
  await setSettings(server, { Livechat_accept_chats_with_no_agents: true });
  const { db } = server.parley.services.deps;
  const { token } = await newVisitor(server);
  const visitor = await db.livechatVisitors.findOne({ token });
  if (!visitor) throw new Error("visitor not stored");

  // Started together, every call reads "no open room" before any has written one unless
  // the check and the creation are held under one lock.
  const opened = await Promise.all(
    Array.from({ length: 25 }, () =>
      server.parley.services.livechat.openRoom(visitor, { source: "api" }),
    ),
  );

  expect(await db.rooms.countDocuments({ t: "l", "v.token": token, open: true })).toBe(1);
  expect(new Set(opened.map((o) => o.room._id)).size).toBe(1);
  expect(opened.filter((o) => o.newRoom)).toHaveLength(1);
});
