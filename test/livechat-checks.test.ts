/**
 * Rocket.Chat's checks on what visitors, agents and managers send, each refusing before
 * anything is written: one visitor for a token however many registrations race, e-mail
 * addresses, department agents, custom fields, the room a visitor names, survey answers,
 * closing a conversation, forwarding it over DDP, and who may hear a conversation's stream.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
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
const agents: Agent[] = [];
const sockets: RawDdp[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await setting("Livechat_Routing_Method", "Manual_Selection");
});

afterEach(() => {
  for (const agent of agents.splice(0)) agent.close();
  for (const socket of sockets.splice(0)) socket.close();
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

async function ddpAs(authToken: string): Promise<RawDdp> {
  const socket = await RawDdp.connect(server.wsUrl);
  sockets.push(socket);
  await socket.resume(authToken);
  return socket;
}

/** A new visitor's waiting conversation; taken by `by` when given. */
async function conversation(by?: Agent) {
  const { token } = await newVisitor(server);
  const room = (await api(server, "livechat/room", { query: { token } })).body.room as {
    _id: string;
  };
  if (by) {
    const inquiry = await server.parley.services.deps.db.livechatInquiries.findOne({
      rid: room._id,
    });
    await api(server, "livechat/inquiries.take", {
      auth: by.credentials,
      body: { inquiryId: inquiry?._id },
    });
  }
  return { token, room };
}

const departmentFields = (name: string) => ({
  name,
  enabled: true,
  email: "team@example.com",
  showOnRegistration: false,
  showOnOfflineForm: false,
});

test("registrations racing with a new token answer one visitor and take one guest number", async () => {
  const token = `racing-${Date.now()}`;
  const before = await server.parley.services.deps.db.settings.findOne({
    _id: "Livechat_guest_count",
  });

  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      api(server, "livechat/visitor", { body: { visitor: { token, name: `Racer ${i}` } } }),
    ),
  );

  expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
  expect(new Set(answers.map((a) => a.body.visitor._id)).size).toBe(1);
  const after = await server.parley.services.deps.db.settings.findOne({
    _id: "Livechat_guest_count",
  });
  expect(Number(after?.value)).toBe(Number(before?.value) + 1);
});

test("a visitor's e-mail address must be one", async () => {
  const token = `mail-${Date.now()}`;

  const refused = await api(server, "livechat/visitor", {
    body: { visitor: { token, email: "not an address" } },
  });
  const accepted = await api(server, "livechat/visitor", {
    body: { visitor: { token, email: "Ann@Example.com" } },
  });

  expect([refused.status, refused.body]).toEqual([
    400,
    {
      success: false,
      error: "Invalid email not an address [error-invalid-email]",
      errorType: "error-invalid-email",
      details: { function: "Livechat.validateEmail", email: "not an address" },
    },
  ]);
  expect(accepted.body.visitor.visitorEmails).toEqual([{ address: "ann@example.com" }]);
});

test("department changes naming a user who is not an agent write nothing", async () => {
  const jo = await agent("dept.jo");
  const kim = await agent("dept.kim");
  const { user: plain } = await createUser(server);
  const name = `Half ${Date.now()}`;
  const bad = [{ agentId: kim.user._id }, { agentId: plain._id }];

  const created = await api(server, "livechat/department", {
    auth: server.admin,
    body: { department: departmentFields(name), agents: bad },
  });
  const made = await api(server, "livechat/department", {
    auth: server.admin,
    body: { department: departmentFields(`${name} ok`), agents: [{ agentId: jo.user._id }] },
  });
  const id = made.body.department._id as string;
  const updated = await api(server, `livechat/department/${id}`, {
    method: "PUT",
    auth: server.admin,
    body: { department: { ...departmentFields("Renamed"), enabled: false }, agents: bad },
  });
  const upserted = await api(server, `livechat/department/${id}/agents`, {
    auth: server.admin,
    body: { upsert: [{ agentId: kim.user._id }, { agentId: "no-such-user" }] },
  });

  for (const refused of [created, updated, upserted]) {
    expect(refused.body).toEqual({
      success: false,
      error: "User is not a livechat agent [error-user-is-not-agent]",
      errorType: "error-user-is-not-agent",
    });
  }
  const { db } = server.parley.services.deps;
  expect(await db.livechatDepartments.countDocuments({ name })).toBe(0);
  const after = await api(server, `livechat/department/${id}`, { auth: server.admin });
  expect(after.body.department).toMatchObject({ name: `${name} ok`, enabled: true, numAgents: 1 });
  expect(after.body.agents.map((a: { agentId: string }) => a.agentId)).toEqual([jo.user._id]);
});

test("custom fields with one bad key write none of them", async () => {
  const { token } = await newVisitor(server);

  const refused = await api(server, "livechat/custom.fields", {
    body: {
      token,
      customFields: [
        { key: "plan", value: "gold" },
        { key: "bad.key", value: "x" },
      ],
    },
  });

  expect(refused.body).toEqual({
    success: false,
    error: "Invalid custom field [invalid-custom-field]",
    errorType: "invalid-custom-field",
  });
  const visitor = await api(server, `livechat/visitor/${token}`);
  expect(visitor.body.visitor.livechatData).toBeUndefined();
});

test("livechat/room with a room id answers only the visitor's open room of that id", async () => {
  await setting("Livechat_accept_chats_with_no_agents", true);
  const { token } = await newVisitor(server);
  const { token: other } = await newVisitor(server);
  const open = (await api(server, "livechat/room", { query: { token } })).body.room;

  const same = await api(server, "livechat/room", { query: { token, rid: open._id } });
  const chosen = await api(server, "livechat/room", { query: { token: other, rid: "my-id" } });
  const stale = await api(server, "livechat/room", { query: { token, rid: "closed-or-gone" } });
  const foreign = await api(server, "livechat/room", { query: { token: other, rid: open._id } });
  await setting("Livechat_accept_chats_with_no_agents", false);

  expect(same.body).toMatchObject({ room: { _id: open._id }, newRoom: false });
  for (const refused of [chosen, stale, foreign]) {
    expect([refused.status, refused.body]).toEqual([
      400,
      { success: false, error: "invalid-room" },
    ]);
  }
  const { db } = server.parley.services.deps;
  expect(await db.rooms.findOne({ _id: "my-id" })).toBeNull();
});

test("the survey keeps only its questions with allowed answers, and the visitor's words", async () => {
  await setting("Livechat_accept_chats_with_no_agents", true);
  const { token, room } = await conversation();
  await setting("Livechat_accept_chats_with_no_agents", false);

  const refused = await api(server, "livechat/room.survey", {
    body: {
      token,
      rid: room._id,
      data: [
        { name: "satisfaction", value: "999" },
        { name: "evil", value: "x" },
      ],
    },
  });
  const saved = await api(server, "livechat/room.survey", {
    body: {
      token,
      rid: room._id,
      data: [
        { name: "satisfaction", value: "5" },
        { name: "agentKnowledge", value: "12" },
        { name: "made_up", value: "x" },
        { name: "additionalFeedback", value: "Quick and kind" },
      ],
    },
  });

  expect([refused.status, refused.body]).toEqual([400, { success: false, error: "invalid-data" }]);
  const kept = { satisfaction: "5", additionalFeedback: "Quick and kind" };
  expect(saved.body).toEqual({ success: true, rid: room._id, data: kept });
  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(stored?.surveyFeedback).toEqual(kept);
});

test("room.closeByUser answers Rocket.Chat's plain refusals and asks for a comment", async () => {
  const jo = await agent("close.jo");
  const kim = await agent("close.kim");
  const { room } = await conversation(jo);

  const unknown = await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: "no-such-room", comment: "x" },
  });
  const notTheirs = await api(server, "livechat/room.closeByUser", {
    auth: kim.credentials,
    body: { rid: room._id, comment: "x" },
  });
  const noComment = await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: room._id, comment: "  " },
  });
  const closed = await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: room._id, comment: "solved" },
  });
  const again = await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: room._id, comment: "solved" },
  });

  const plain = (error: string) => [400, { success: false, error }];
  expect([unknown.status, unknown.body]).toEqual(plain("error-invalid-room"));
  expect([notTheirs.status, notTheirs.body]).toEqual(plain("error-not-authorized"));
  expect([noComment.status, noComment.body]).toEqual(plain("error-comment-is-required"));
  expect(closed.body).toEqual({ success: true });
  expect([again.status, again.body]).toEqual(plain("error-room-already-closed"));
});

test("livechat:transfer lets the agents of a conversation forward it, and refuses other agents", async () => {
  const jo = await agent("transfer.jo");
  const kim = await agent("transfer.kim");
  const { room } = await conversation(jo);
  const joDdp = await ddpAs(jo.credentials.authToken);
  const kimDdp = await ddpAs(kim.credentials.authToken);

  const outsider = await kimDdp.call("livechat:transfer", {
    roomId: room._id,
    userId: kim.user._id,
  });
  const own = await joDdp.call("livechat:transfer", { roomId: room._id, userId: kim.user._id });

  expect(outsider.error).toMatchObject({
    error: "error-not-authorized",
    reason: "Not authorized",
    details: { method: "livechat:transfer" },
  });
  expect(own.result).toBe(true);
  const moved = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(moved?.servedBy).toMatchObject({ _id: kim.user._id });
});

test("a conversation's stream is for its visitor alone, not for agents", async () => {
  const jo = await agent("stream.jo");
  const { token, room } = await conversation(jo);
  const agentSocket = await ddpAs(jo.credentials.authToken);
  const visitorSocket = await RawDdp.connect(server.wsUrl);
  sockets.push(visitorSocket);

  const asAgent = await agentSocket.sub("stream-livechat-room", room._id, false);
  const asVisitor = await visitorSocket.sub("stream-livechat-room", room._id, {
    useCollection: false,
    args: [{ token }],
  });
  const wrongToken = await visitorSocket.sub("stream-livechat-room", room._id, {
    useCollection: false,
    args: [{ token: "someone-else" }],
  });

  expect(asAgent.msg).toBe("nosub");
  expect(asVisitor.msg).toBe("ready");
  expect(wrongToken.msg).toBe("nosub");
});
