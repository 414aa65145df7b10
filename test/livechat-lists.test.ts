/**
 * What managers and agents read about conversations: `livechat/rooms` with its filters
 * and permissions, `livechat/queue` (who serves how many), `livechat/agent.next/:token`
 * and the inquiry lists.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, createUser, setSettings, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

let server: TestServer;
const agents: Agent[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await setting("Livechat_Routing_Method", "Manual_Selection");
});

afterAll(async () => {
  for (const agent of agents) agent.close();
  await server.stop();
});

function setting(id: string, value: unknown) {
  return setSettings(server, { [id]: value });
}

async function agent(name: string) {
  const started = await startAgent(server, name);
  agents.push(started);
  return started;
}

async function department(name: string, members: readonly Agent[]) {
  const res = await api(server, "livechat/department", {
    auth: server.admin,
    body: {
      department: {
        name,
        enabled: true,
        email: `${name}@example.com`,
        showOnRegistration: true,
        showOnOfflineForm: false,
      },
      agents: members.map((m) => ({ agentId: m.user._id })),
    },
  });
  return res.body.department as { _id: string; name: string };
}

/** A new visitor's conversation (in `departmentId` when given), taken by `by` when given. */
async function conversation(by?: Agent, departmentId?: string) {
  const { token, visitor } = await newVisitor(
    server,
    departmentId ? { department: departmentId } : {},
  );
  const room = (await api(server, "livechat/room", { query: { token } })).body.room as {
    _id: string;
    fname: string;
  };
  const inquiry = (
    await api(server, "livechat/inquiries.getOne", {
      auth: server.admin,
      query: { roomId: room._id },
    })
  ).body.inquiry as { _id: string };
  if (by) {
    await api(server, "livechat/inquiries.take", {
      auth: by.credentials,
      body: { inquiryId: inquiry._id },
    });
  }
  return { token, visitor, room, inquiry };
}

function ids(body: { rooms: { _id: string }[] }) {
  return body.rooms.map((r) => r._id).sort();
}

test("livechat/rooms filters a department's conversations by agent, state, name, dates, tags and fields", async () => {
  const dora = await agent("dora");
  const eve = await agent("eve");
  const sales = await department(`sales-${Date.now()}`, [dora, eve]);
  const first = await conversation(dora, sales._id);
  const second = await conversation(eve, sales._id);
  const waiting = await conversation(undefined, sales._id);
  // A minute apart, so that sorting by start time has one answer however fast they started.
  const { db } = server.parley.services.deps;
  for (const [i, { room }] of [first, second, waiting].entries()) {
    await db.rooms.updateOne(
      { _id: room._id },
      { $set: { ts: new Date(Date.now() - (3 - i) * 60_000) } },
    );
  }
  await api(server, "livechat/room.saveInfo", {
    auth: dora.credentials,
    body: {
      guestData: { _id: first.visitor._id },
      roomData: { _id: first.room._id, tags: ["vip"], livechatData: { order: "A-17" } },
    },
  });
  await api(server, "livechat/room.closeByUser", {
    auth: eve.credentials,
    body: { rid: second.room._id, comment: "done" },
  });
  const list = async (query: string) => {
    const res = await api(server, `livechat/rooms?departmentId=${sales._id}&${query}`, {
      auth: server.admin,
    });
    expect(res.status).toBe(200);
    return res.body;
  };
  const future = JSON.stringify({ start: new Date(Date.now() + 60_000).toISOString() });
  const past = JSON.stringify({ end: new Date(Date.now() - 60 * 60_000).toISOString() });

  const all = await list("");
  const byAgent = await list(`agents[]=${dora.user._id}`);
  const byUsername = await list(`agents[]=${eve.user.username}`);
  const open = await list("open=true");
  const closed = await list("open=false");
  const queued = await list("queued=true");
  const named = await list(`roomName=${encodeURIComponent(first.room.fname)}`);
  const tagged = await list("tags[]=vip");
  const fielded = await list(`customFields=${encodeURIComponent('{"order":"a-17"}')}`);
  const createdLater = await list(`createdAt=${encodeURIComponent(future)}`);
  const closedBefore = await list(`closedAt=${encodeURIComponent(past)}`);
  const page = await list("count=1&offset=1&sort=" + encodeURIComponent('{"ts":1}'));

  const everyId = [first.room._id, second.room._id, waiting.room._id].sort();
  expect(all).toMatchObject({ success: true, count: 3, offset: 0, total: 3 });
  expect(ids(all)).toEqual(everyId);
  expect(all.rooms[0].department).toEqual({ _id: sales._id, name: sales.name });
  expect(ids(byAgent)).toEqual([first.room._id]);
  expect(ids(byUsername)).toEqual([second.room._id]);
  expect(ids(open)).toEqual([first.room._id]);
  expect(ids(closed)).toEqual([second.room._id]);
  expect(ids(queued)).toEqual([waiting.room._id]);
  expect(ids(named)).toEqual([first.room._id]);
  expect(ids(tagged)).toEqual([first.room._id]);
  expect(ids(fielded)).toEqual([first.room._id]);
  expect(createdLater.total).toBe(0);
  expect(closedBefore.total).toBe(0);
  expect(page).toMatchObject({ count: 1, offset: 1, total: 3 });
  expect(page.rooms[0]._id).toBe(second.room._id);
});

test("livechat/rooms lets an agent list only their own conversations", async () => {
  const fay = await agent("fay");
  const mine = await conversation(fay);

  const own = await api(server, `livechat/rooms?agents[]=${fay.user._id}`, {
    auth: fay.credentials,
  });
  const everyone = await api(server, "livechat/rooms", { auth: fay.credentials });
  const stranger = await api(server, "livechat/rooms", {
    auth: (await createUser(server)).credentials,
  });

  expect(ids(own.body)).toEqual([mine.room._id]);
  expect([everyone.status, everyone.body]).toEqual([
    403,
    { success: false, error: "unauthorized" },
  ]);
  expect(stranger.status).toBe(403);
});

test("livechat/rooms refuses malformed filters with a 400", async () => {
  const bad = [
    "agents=not-a-list",
    "roomName[]=x",
    "open[]=true",
    "tags=not-a-list",
    "createdAt=invalid",
    `createdAt=${encodeURIComponent('{"start":"not a date"}')}`,
    "closedAt=invalid",
    "customFields=invalid",
    `customFields=${encodeURIComponent('{"a.b":"x"}')}`,
    "sort=invalid",
    "unknown=1",
    "count=-1",
  ];

  const answers = await Promise.all(
    bad.map((query) => api(server, `livechat/rooms?${query}`, { auth: server.admin })),
  );

  for (const [i, res] of answers.entries()) {
    expect([bad[i], res.status, res.body.success]).toEqual([bad[i], 400, false]);
  }
  expect(answers[4]?.body).toEqual({
    success: false,
    error: 'The "createdAt" query parameter must be a valid JSON.',
  });
  expect(answers[5]?.body).toEqual({
    success: false,
    error: 'The "createdAt.start" query parameter must be a valid date.',
  });
});

test("livechat/queue counts each agent's open conversations while they are in service", async () => {
  const gus = await agent("gus");
  await conversation(gus);
  await conversation(gus);
  const query = { agentId: gus.user._id };
  const line = {
    chats: 2,
    user: { _id: gus.user._id, username: gus.user.username, status: "online" },
    department: {},
  };

  const inService = await api(server, "livechat/queue", { auth: server.admin, query });
  await gus.sdk.call("livechat/changeLivechatStatus", { status: "not-available" });
  const away = await api(server, "livechat/queue", { auth: server.admin, query });
  const withOffline = await api(server, "livechat/queue", {
    auth: server.admin,
    query: { ...query, includeOfflineAgents: "true" },
  });
  const stranger = await api(server, "livechat/queue", {
    auth: (await createUser(server)).credentials,
  });

  expect(inService.body).toEqual({ success: true, queue: [line], count: 1, offset: 0, total: 1 });
  expect(away.body).toEqual({ success: true, queue: [], count: 0, offset: 0, total: 0 });
  expect(withOffline.body.queue).toEqual([line]);
  expect(stranger.status).toBe(403);
  await gus.sdk.call("livechat/changeLivechatStatus", { status: "available" });
});

test("agent.next names the agent the routing method would pick, per department", async () => {
  await setting("Livechat_Routing_Method", "Auto_Selection");
  const hal = await agent("hal");
  const support = await department(`support-${Date.now()}`, [hal]);
  const { token } = await newVisitor(server);
  const next = (query: Record<string, string> = {}) =>
    api(server, `livechat/agent.next/${token}`, { query });

  const inSupport = await next({ department: support._id });
  const unknown = await next({ department: "no-such-department" });
  await setting("Livechat_Routing_Method", "Manual_Selection");
  const manual = await next({ department: support._id });

  expect(inSupport.body).toEqual({
    success: true,
    agent: {
      _id: hal.user._id,
      username: hal.user.username,
      name: hal.user.username,
      status: "online",
      emails: [{ address: `${hal.user.username}@example.com`, verified: false }],
    },
  });
  expect([unknown.status, unknown.body]).toEqual([
    400,
    { success: false, error: "agent-not-found" },
  ]);
  expect([manual.status, manual.body]).toEqual([400, { success: false, error: "agent-not-found" }]);
});

test("agent.next answers nothing for a visitor who already has an open conversation", async () => {
  const { token } = await conversation();

  const next = await api(server, `livechat/agent.next/${token}`);

  expect(next.body).toEqual({ success: true });
});

test("inquiries.list shows the waiting inquiries newest first, by department id or name", async () => {
  const ivy = await agent("ivy");
  const billing = await department(`billing-${Date.now()}`, [ivy]);
  const older = await conversation(undefined, billing._id);
  const newer = await conversation(undefined, billing._id);
  // Both may start within one millisecond: the older is made a minute older.
  const { db } = server.parley.services.deps;
  await db.livechatInquiries.updateOne(
    { _id: older.inquiry._id },
    { $set: { ts: new Date(Date.now() - 60_000) } },
  );

  const byId = await api(server, "livechat/inquiries.list", {
    auth: server.admin,
    query: { department: billing._id },
  });
  const byName = await api(server, "livechat/inquiries.list", {
    auth: server.admin,
    query: { department: billing.name },
  });
  const queued = await api(server, "livechat/inquiries.queued", {
    auth: ivy.credentials,
    query: { department: billing._id },
  });

  expect(byId.body.inquiries.map((i: { _id: string }) => i._id)).toEqual([
    newer.inquiry._id,
    older.inquiry._id,
  ]);
  expect(Object.keys(byId.body.inquiries[0]).sort()).toEqual([
    "_id",
    "department",
    "name",
    "rid",
    "status",
    "ts",
  ]);
  expect(byName.body.total).toBe(2);
  expect(queued.body.inquiries.map((i: { _id: string }) => i._id).sort()).toEqual(
    [older.inquiry._id, newer.inquiry._id].sort(),
  );
});
