/**
 * Rocket.Chat's refusals of the agent's actions on the queue, over REST and DDP: taking
 * an inquiry (`livechat/inquiries.take`, `livechat:takeInquiry`), forwarding a
 * conversation (`livechat/room.forward`) and returning it to its queue
 * (`livechat:returnAsInquiry`).
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
let jo: Agent;
let kim: Agent;

beforeAll(async () => {
  server = await startTestServer();
  await setting("Livechat_Routing_Method", "Manual_Selection");
  jo = await startAgent(server, "jo");
  kim = await startAgent(server, "kim");
});

afterAll(async () => {
  jo.close();
  kim.close();
  await server.stop();
});

function setting(id: string, value: unknown) {
  return setSettings(server, { [id]: value });
}

async function conversation(by?: Agent, visitorExtra: Record<string, unknown> = {}) {
  const { token } = await newVisitor(server, visitorExtra);
  const room = (await api(server, "livechat/room", { query: { token } })).body.room as {
    _id: string;
  };
  const inquiry = (
    await api(server, "livechat/inquiries.getOne", {
      auth: server.admin,
      query: { roomId: room._id },
    })
  ).body.inquiry as { _id: string };
  if (by) await take(by, inquiry._id);
  return { room, inquiry };
}

function take(by: Agent, inquiryId: string, userId?: string) {
  return api(server, "livechat/inquiries.take", {
    auth: by.credentials,
    body: { inquiryId, ...(userId && { userId }) },
  });
}

function forward(body: Record<string, unknown>, by: Agent | null = null) {
  return api(server, "livechat/room.forward", {
    auth: by ? by.credentials : server.admin,
    body,
  });
}

const takeDetails = { method: "livechat:takeInquiry" };

test("inquiries.take answers success alone, and refuses unknown, taken and unavailable", async () => {
  const { inquiry } = await conversation();
  const other = await conversation();
  await kim.sdk.call("livechat/changeLivechatStatus", { status: "not-available" });

  const unknown = await take(jo, "no-such-inquiry");
  const unavailable = await take(kim, other.inquiry._id);
  const invalidUser = await take(jo, inquiry._id, "no-such-user");
  const taken = await take(jo, inquiry._id);
  const again = await take(jo, inquiry._id);
  await kim.sdk.call("livechat/changeLivechatStatus", { status: "available" });

  expect(taken.body).toEqual({ success: true });
  expect(unknown.body).toEqual({
    success: false,
    error: "Inquiry not found [error-not-found]",
    errorType: "error-not-found",
    details: takeDetails,
  });
  expect(again.body).toEqual({
    success: false,
    error: "Inquiry already taken [error-inquiry-taken]",
    errorType: "error-inquiry-taken",
    details: takeDetails,
  });
  expect(unavailable.body).toEqual({
    success: false,
    error:
      "Agent status is offline or Omnichannel service is not active [error-agent-status-service-offline]",
    errorType: "error-agent-status-service-offline",
    details: takeDetails,
  });
  expect([invalidUser.status, invalidUser.body]).toEqual([
    400,
    { success: false, error: "The user is invalid" },
  ]);
});

test("an agent at their limit cannot take one more", async () => {
  await setting("Livechat_maximum_chats_per_agent", 1);
  const lee = await startAgent(server, "lee");
  await conversation(lee);
  const { inquiry } = await conversation();

  const refused = await take(lee, inquiry._id);

  await setting("Livechat_maximum_chats_per_agent", 0);
  lee.close();
  expect(refused.body).toEqual({
    success: false,
    error: "[error-max-number-simultaneous-chats-reached]",
    errorType: "error-max-number-simultaneous-chats-reached",
  });
});

test("livechat:takeInquiry over DDP answers nothing once taken", async () => {
  const { inquiry } = await conversation();
  const ddp = await RawDdp.connect(server.wsUrl);
  await ddp.resume(jo.credentials.authToken);

  const answer = await ddp.call("livechat:takeInquiry", inquiry._id);

  expect(answer).toEqual({ msg: "result", id: answer.id });
  ddp.close();
});

test("room.forward refuses with Rocket.Chat's plain codes", async () => {
  const served = await conversation(jo);
  const closed = await conversation(jo);
  await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: closed.room._id, comment: "done" },
  });
  const stranger = await createUser(server);
  const department = await api(server, "livechat/department", {
    auth: server.admin,
    body: {
      department: {
        name: `dep-${Date.now()}`,
        enabled: true,
        email: "dep@example.com",
        showOnRegistration: true,
        showOnOfflineForm: false,
      },
      agents: [{ agentId: kim.user._id }],
    },
  });
  const departmentId = department.body.department._id as string;
  const inDepartment = await conversation(jo, { department: departmentId });
  const general = (
    await api(server, "rooms.info", { auth: server.admin, query: { roomName: "general" } })
  ).body.room._id;

  const cases: [Record<string, unknown>, string][] = [
    [{ roomId: "no-such-room", userId: kim.user._id }, "error-invalid-room"],
    [{ roomId: general, userId: kim.user._id }, "error-invalid-room"],
    [{ roomId: closed.room._id, userId: kim.user._id }, "This_conversation_is_already_closed"],
    [{ roomId: served.room._id }, "error-forwarding-chat"],
    [{ roomId: served.room._id, userId: stranger.user._id }, "error-user-is-offline"],
    [{ roomId: served.room._id, userId: "no-such-user" }, "error-user-is-offline"],
    [{ roomId: served.room._id, userId: jo.user._id }, "error-selected-agent-room-agent-are-same"],
    [{ roomId: served.room._id, departmentId: "no-such-department" }, "error-invalid-department"],
    [{ roomId: inDepartment.room._id, departmentId }, "error-forwarding-chat-same-department"],
    [
      { roomId: served.room._id, departmentId, userId: jo.user._id },
      "error-user-not-belong-to-department",
    ],
  ];
  const answers = await Promise.all(cases.map(([body]) => forward(body)));

  expect(answers.map((a) => [a.status, a.body])).toEqual(
    cases.map(([, error]) => [400, { success: false, error }]),
  );
});

test("room.forward to an agent at their limit is refused and leaves the conversation where it was", async () => {
  const { room } = await conversation(jo);
  await setting("Livechat_maximum_chats_per_agent", 1);
  const max = await startAgent(server, "max");
  await conversation(max);

  const refused = await forward({ roomId: room._id, userId: max.user._id });

  await setting("Livechat_maximum_chats_per_agent", 0);
  max.close();
  expect(refused.body).toEqual({
    success: false,
    error: "error-max-number-simultaneous-chats-reached",
  });
  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(stored).toMatchObject({ servedBy: { _id: jo.user._id } });
});

test("livechat:returnAsInquiry puts a conversation back in its queue and refuses as Rocket.Chat does", async () => {
  const { room, inquiry } = await conversation(jo);
  const closed = await conversation(jo);
  await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: closed.room._id, comment: "done" },
  });
  const ddp = await RawDdp.connect(server.wsUrl);
  await ddp.resume(kim.credentials.authToken);
  const details = { method: "livechat:returnAsInquiry" };

  const returned = await ddp.call("livechat:returnAsInquiry", room._id);
  const waiting = await ddp.call("livechat:returnAsInquiry", room._id);
  const unknown = await ddp.call("livechat:returnAsInquiry", "no-such-room");
  const ended = await ddp.call("livechat:returnAsInquiry", closed.room._id);

  expect(returned.result).toBe(true);
  expect(waiting.result).toBe(false);
  expect(unknown.error).toMatchObject({
    error: "error-invalid-room",
    reason: "Invalid room",
    details,
  });
  expect(ended.error).toMatchObject({ error: "room-closed", reason: "Room closed", details });
  const stored = await server.parley.services.deps.db.livechatInquiries.findOne({
    _id: inquiry._id,
  });
  expect(stored?.status).toBe("queued");
  ddp.close();
});

test("livechat:transfer over DDP names itself in its refusals and answers false without a target", async () => {
  const served = await conversation(jo);
  const closed = await conversation(jo);
  await api(server, "livechat/room.closeByUser", {
    auth: jo.credentials,
    body: { rid: closed.room._id, comment: "done" },
  });
  const ddp = await RawDdp.connect(server.wsUrl);
  await ddp.resume(server.admin.authToken);
  const details = { method: "livechat:transfer" };

  const unknown = await ddp.call("livechat:transfer", {
    roomId: "no-such-room",
    userId: kim.user._id,
  });
  const ended = await ddp.call("livechat:transfer", {
    roomId: closed.room._id,
    userId: kim.user._id,
  });
  const noTarget = await ddp.call("livechat:transfer", { roomId: served.room._id });
  const moved = await ddp.call("livechat:transfer", {
    roomId: served.room._id,
    userId: kim.user._id,
  });

  expect(unknown.error).toMatchObject({
    error: "error-invalid-room",
    reason: "Invalid room",
    details,
  });
  expect(ended.error).toMatchObject({ error: "room-closed", reason: "Room closed", details });
  expect(noTarget.result).toBe(false);
  expect(moved.result).toBe(true);
  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: served.room._id });
  expect(stored).toMatchObject({ servedBy: { _id: kim.user._id } });
  ddp.close();
});
