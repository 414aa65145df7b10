/**
 * What keeps every open conversation routable: a forward to an agent takes the waiting
 * inquiry, a later take is refused without losing it, a return to the queue brings back an
 * inquiry that went missing, a department's limit holds on a take, and waiting inquiries
 * are routed as soon as a setting or a department lets agents take more.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { api, RawDdp, setSettings, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

let server: TestServer;
const agents: Agent[] = [];
const sockets: RawDdp[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await setting("Livechat_Routing_Method", "Manual_Selection");
});

afterEach(async () => {
  // Each test starts with no conversation open, waiting or served.
  const open = await server.parley.services.deps.db.rooms.find({ t: "l", open: true });
  for (const room of open) {
    await api(server, "livechat/room.closeByUser", {
      auth: server.admin,
      body: { rid: room._id, comment: "test over" },
    });
  }
  for (const agent of agents.splice(0)) {
    await agent.sdk.call("livechat/changeLivechatStatus", { status: "not-available" });
    agent.close();
  }
  for (const socket of sockets.splice(0)) socket.close();
  await setting("Livechat_Routing_Method", "Manual_Selection");
  await setting("Livechat_maximum_chats_per_agent", 0);
});

afterAll(async () => {
  await server.stop();
});

function setting(id: string, value: unknown) {
  return setSettings(server, { [id]: value });
}

async function agent(name: string): Promise<Agent> {
  const started = await startAgent(server, name);
  agents.push(started);
  return started;
}

/** A new visitor's conversation, waiting (or routed), with its inquiry. */
async function conversation(visitorExtra: Record<string, unknown> = {}) {
  const { token } = await newVisitor(server, visitorExtra);
  const room = (await api(server, "livechat/room", { query: { token } })).body.room as {
    _id: string;
  };
  return { token, room, inquiry: await inquiryOf(room._id) };
}

async function inquiryOf(rid: string) {
  const res = await api(server, "livechat/inquiries.getOne", {
    auth: server.admin,
    query: { roomId: rid },
  });
  return res.body.inquiry as { _id: string; status: string; department?: string } | null;
}

function take(by: Agent, inquiryId: string) {
  return api(server, "livechat/inquiries.take", { auth: by.credentials, body: { inquiryId } });
}

async function servedBy(rid: string) {
  const room = await server.parley.services.deps.db.rooms.findOne({ _id: rid });
  return (room?.servedBy as { _id: string } | undefined)?._id;
}

/** A visitor's connection, listening to their conversation's own stream. */
async function visitorStream(token: string, rid: string): Promise<RawDdp> {
  const socket = await RawDdp.connect(server.wsUrl);
  sockets.push(socket);
  const ready = await socket.sub("stream-livechat-room", rid, {
    useCollection: false,
    args: [{ token }],
  });
  expect(ready.msg).toBe("ready");
  return socket;
}

/** Resolves when the visitor's stream names agent `agentId` as serving them. */
function agentAnnounced(socket: RawDdp, rid: string, agentId: string) {
  return socket.streamEvent("stream-livechat-room", rid, (args) => {
    const event = args[0] as { type?: string; data?: { _id?: string } };
    return event.type === "agentData" && event.data?._id === agentId;
  });
}

test("a waiting conversation forwarded to an agent takes its inquiry; a later take loses nothing", async () => {
  const jo = await agent("fwd.jo");
  const kim = await agent("fwd.kim");
  const { room, inquiry } = await conversation();

  const forwarded = await api(server, "livechat/room.forward", {
    auth: server.admin,
    body: { roomId: room._id, userId: jo.user._id },
  });
  const late = await take(kim, inquiry?._id as string);
  const queued = await api(server, "livechat/inquiries.queuedForUser", { auth: kim.credentials });

  expect(forwarded.body).toEqual({ success: true });
  expect(late.body).toEqual({
    success: false,
    error: "Inquiry already taken [error-inquiry-taken]",
    errorType: "error-inquiry-taken",
    details: { method: "livechat:takeInquiry" },
  });
  expect(await inquiryOf(room._id)).toMatchObject({ _id: inquiry?._id, status: "taken" });
  expect(await servedBy(room._id)).toBe(jo.user._id);
  expect(queued.body.inquiries.map((i: { rid: string }) => i.rid)).not.toContain(room._id);
  const returned = await jo.sdk.call("livechat:returnAsInquiry", room._id);
  expect(returned).toBe(true);
  expect(await inquiryOf(room._id)).toMatchObject({ _id: inquiry?._id, status: "queued" });
});

test("returning a conversation whose inquiry went missing queues a new one that routes", async () => {
  const jo = await agent("missing.jo");
  const { room, inquiry } = await conversation();
  await take(jo, inquiry?._id as string);
  // As an earlier version could leave it: an open conversation without an inquiry.
  await server.parley.services.deps.db.livechatInquiries.deleteOne({ rid: room._id });

  const returned = await jo.sdk.call("livechat:returnAsInquiry", room._id);
  const recreated = await inquiryOf(room._id);
  const retaken = await take(jo, recreated?._id as string);

  expect(returned).toBe(true);
  expect(recreated).toMatchObject({ rid: room._id, status: "queued" });
  expect(retaken.body).toEqual({ success: true });
  expect(await servedBy(room._id)).toBe(jo.user._id);
});

test("a department's limit refuses a take past it, over REST and DDP, and holds under a race", async () => {
  const jo = await agent("dept.jo");
  const created = await api(server, "livechat/department", {
    auth: server.admin,
    body: {
      department: {
        name: `Limited ${Date.now()}`,
        enabled: true,
        email: "limited@example.com",
        showOnRegistration: false,
        showOnOfflineForm: false,
        maxNumberSimultaneousChat: 1,
      },
      agents: [{ agentId: jo.user._id }],
    },
  });
  const department = created.body.department._id as string;
  const waiting = [];
  for (let i = 0; i < 4; i += 1) waiting.push(await conversation({ department }));
  const [first, second, third, fourth] = waiting.map((w) => w.inquiry?._id as string);

  const taken = await take(jo, first as string);
  const rest = await take(jo, second as string);
  const ddp = await jo.sdk.call("livechat:takeInquiry", third).catch((error: unknown) => error);
  await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: waiting[0]?.room._id, comment: "done" },
  });
  const race = await Promise.all([take(jo, second as string), take(jo, fourth as string)]);

  expect(taken.body).toEqual({ success: true });
  expect(rest.body).toEqual({
    success: false,
    error: "[error-max-number-simultaneous-chats-reached]",
    errorType: "error-max-number-simultaneous-chats-reached",
  });
  expect(ddp).toMatchObject({ error: "error-max-number-simultaneous-chats-reached" });
  expect(race.map((r) => r.status).sort()).toEqual([200, 400]);
  const served = await server.parley.services.deps.db.rooms.countDocuments({
    open: true,
    departmentId: department,
    "servedBy._id": jo.user._id,
  });
  expect(served).toBe(1);
});

test("raising the agents' limit routes what waits at once", async () => {
  await setting("Livechat_maximum_chats_per_agent", 1);
  await setting("Livechat_Routing_Method", "Auto_Selection");
  const jo = await agent("limit.jo");
  const first = await conversation();
  const second = await conversation();
  expect(await servedBy(first.room._id)).toBe(jo.user._id);
  expect(await servedBy(second.room._id)).toBeUndefined();
  const socket = await visitorStream(second.token, second.room._id);
  const announced = agentAnnounced(socket, second.room._id, jo.user._id);

  await setting("Livechat_maximum_chats_per_agent", 2);

  await announced;
  expect(await servedBy(second.room._id)).toBe(jo.user._id);
});

test("switching from Manual_Selection to Auto_Selection routes what waits at once", async () => {
  const jo = await agent("switch.jo");
  const waiting = await conversation();
  expect(await servedBy(waiting.room._id)).toBeUndefined();
  const socket = await visitorStream(waiting.token, waiting.room._id);
  const announced = agentAnnounced(socket, waiting.room._id, jo.user._id);

  await setting("Livechat_Routing_Method", "Auto_Selection");

  await announced;
  expect(await servedBy(waiting.room._id)).toBe(jo.user._id);
});

test("raising a department's limit routes what waits in its queue at once", async () => {
  const jo = await agent("deptlimit.jo");
  const fields = {
    name: `Raised ${Date.now()}`,
    enabled: true,
    email: "raised@example.com",
    showOnRegistration: false,
    showOnOfflineForm: false,
  };
  const created = await api(server, "livechat/department", {
    auth: server.admin,
    body: {
      department: { ...fields, maxNumberSimultaneousChat: 1 },
      agents: [{ agentId: jo.user._id }],
    },
  });
  const department = created.body.department._id as string;
  await setting("Livechat_Routing_Method", "Auto_Selection");
  const first = await conversation({ department });
  const second = await conversation({ department });
  expect(await servedBy(first.room._id)).toBe(jo.user._id);
  expect(await servedBy(second.room._id)).toBeUndefined();
  const socket = await visitorStream(second.token, second.room._id);
  const announced = agentAnnounced(socket, second.room._id, jo.user._id);

  await api(server, `livechat/department/${department}`, {
    method: "PUT",
    auth: server.admin,
    body: { department: { ...fields, maxNumberSimultaneousChat: 2 } },
  });

  await announced;
  expect(await servedBy(second.room._id)).toBe(jo.user._id);
});

test("livechat:returnAsInquiry to a department that does not exist is refused and changes nothing", async () => {
  const jo = await agent("return.jo");
  const { room, inquiry } = await conversation();
  await take(jo, inquiry?._id as string);
  const ddp = await RawDdp.connect(server.wsUrl);
  sockets.push(ddp);
  await ddp.resume(jo.credentials.authToken);

  const refused = await ddp.call("livechat:returnAsInquiry", room._id, "no-such-department");

  expect(refused.error).toEqual({
    isClientSafe: true,
    error: "error-invalid-department",
    reason: "Invalid department",
    message: "Invalid department [error-invalid-department]",
    errorType: "Meteor.Error",
    details: { method: "livechat:returnAsInquiry" },
  });
  expect(await servedBy(room._id)).toBe(jo.user._id);
  expect(await inquiryOf(room._id)).toMatchObject({ status: "taken" });
});
