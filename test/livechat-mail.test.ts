/**
 * Omnichannel e-mail against a real SMTP server on loopback: the offline form's message
 * (to the workspace's or the department's address, and into a channel), a visitor's
 * transcript, and the transcript an agent asks for at close, with Rocket.Chat's answers
 * to bad input.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  api,
  createUser,
  RawDdp,
  setSettings,
  startTestServer,
  type TestServer,
} from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";
import { addresses, type Inbox, startInbox, useInbox } from "./smtp-helpers.ts";

let server: TestServer;
let inbox: Inbox;
const agents: Agent[] = [];
const OFFLINE_FAILURE = { success: false, error: "Error sending Omnichannel offline message" };

beforeAll(async () => {
  server = await startTestServer();
  inbox = await startInbox();
  await useInbox(server, inbox);
  await setSettings(server, {
    // The MX lookup of a visitor's domain would leave the machine.
    Livechat_validate_offline_email: false,
    Livechat_offline_email: "support@parley.example.com",
  });
});

afterEach(() => {
  for (const agent of agents.splice(0)) agent.close();
});

afterAll(async () => {
  await server.stop();
  await inbox.close();
});

/** A visitor with an open room served by a new agent, and a message each way. */
async function conversation() {
  const agent = await startAgent(server, "mail.agent");
  agents.push(agent);
  const { token, visitor } = await newVisitor(server, { email: "visitor@example.com" });
  const room = (await api(server, "livechat/room", { query: { token } })).body.room;
  await api(server, "livechat/message", {
    body: { token, rid: room._id, msg: "Where is my <parcel>?" },
  });
  await agent.sdk.call("sendMessage", { rid: room._id, msg: "It ships today" });
  return { agent, token, visitor, room };
}

describe("livechat/offline.message", () => {
  test("mails the message to Livechat_offline_email from the visitor, as Rocket.Chat writes it", async () => {
    const arrived = inbox.next((m) => m.subject?.includes("from Ana") === true);

    const res = await api(server, "livechat/offline.message", {
      body: {
        name: "Ana",
        email: "ana@example.com",
        message: "Call me\nplease",
        host: "https://shop.example.com",
      },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: "Livechat offline message sent" });
    const mail = await arrived;
    // The subject header folds the line break into a space.
    expect(mail.subject).toBe("Livechat offline message from Ana: Call me<br> please");
    expect(addresses(mail.to)).toBe("support@parley.example.com");
    expect(addresses(mail.from)).toBe('"Ana - ana@example.com" <chat@parley.example.com>');
    expect(addresses(mail.replyTo)).toBe('"Ana" <ana@example.com>');
    expect(mail.text).toContain("Visitor name: Ana");
    expect(mail.text).toContain("Visitor email: ana@example.com");
    expect(mail.text).toContain("Call me\nplease");
    expect(mail.html).toContain("<a href='https://shop.example.com'>");
  });

  test("goes to the e-mail of the department the visitor chose", async () => {
    const department = await api(server, "livechat/department", {
      auth: server.admin,
      body: {
        department: {
          name: `Sales ${Date.now()}`,
          enabled: true,
          email: "sales@parley.example.com",
          showOnRegistration: true,
          showOnOfflineForm: true,
        },
      },
    });
    const arrived = inbox.next((m) => addresses(m.to) === "sales@parley.example.com");

    const res = await api(server, "livechat/offline.message", {
      body: {
        name: "Bo",
        email: "bo@example.com",
        message: "Prices?",
        department: department.body.department._id,
      },
    });

    expect(res.body).toEqual({ success: true, message: "Livechat offline message sent" });
    expect((await arrived).subject).toBe("Livechat offline message from Bo: Prices?");
  });

  test("is posted by rocket.cat in the channel of Livechat_OfflineMessageToChannel_channel_name", async () => {
    const name = `offline-${Date.now()}`;
    const channel = await api(server, "channels.create", { auth: server.admin, body: { name } });
    const rid = channel.body.channel._id as string;
    await setSettings(server, {
      Livechat_OfflineMessageToChannel_enabled: true,
      Livechat_OfflineMessageToChannel_channel_name: name,
    });
    const ddp = await RawDdp.connect(server.wsUrl);
    await ddp.resume(server.admin.authToken);
    await ddp.sub("stream-room-messages", rid, false);
    const posted = ddp.streamEvent("stream-room-messages", rid);

    const res = await api(server, "livechat/offline.message", {
      body: { name: "Cy", email: "cy@example.com", message: "Open on Sunday?" },
    });

    expect(res.body.success).toBe(true);
    expect((await posted)[0]).toMatchObject({
      rid,
      u: { _id: "rocket.cat", username: "rocket.cat" },
      msg:
        "A new Livechat Offline Message has been sent: \nVisitor Name: Cy \n" +
        "Visitor Email: cy@example.com \nMessage: Open on Sunday? \n",
      groupable: false,
    });
    ddp.close();
    await setSettings(server, { Livechat_OfflineMessageToChannel_enabled: false });
  });

  test("refuses missing fields with Rocket.Chat's invalid-params", async () => {
    const none = await api(server, "livechat/offline.message", { body: {} });
    const noMessage = await api(server, "livechat/offline.message", {
      body: { name: "x", email: "" },
    });
    const wrongType = await api(server, "livechat/offline.message", {
      body: { name: "x", email: "x@example.com", message: 5 },
    });

    for (const res of [none, noMessage, wrongType]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
    }
    expect(noMessage.body.error).toContain("must have required property 'message'");
  });

  test("answers Rocket.Chat's one failure when it cannot send", async () => {
    await setSettings(server, { Livechat_display_offline_form: false });
    const formOff = await api(server, "livechat/offline.message", {
      body: { name: "x", email: "x@example.com", message: "m" },
    });
    await setSettings(server, { Livechat_display_offline_form: true });
    const noEmail = await api(server, "livechat/offline.message", {
      body: { name: "x", email: "", message: "m" },
    });
    await setSettings(server, { Livechat_validate_offline_email: true });
    const notAnAddress = await api(server, "livechat/offline.message", {
      body: { name: "x", email: "no-domain-here", message: "m" },
    });
    await setSettings(server, {
      Livechat_validate_offline_email: false,
      Livechat_offline_email: "",
    });
    const nowhereToSend = await api(server, "livechat/offline.message", {
      body: { name: "x", email: "x@example.com", message: "m" },
    });
    await setSettings(server, { Livechat_offline_email: "support@parley.example.com" });

    for (const res of [formOff, noEmail, notAnAddress, nowhereToSend]) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual(OFFLINE_FAILURE);
    }
  });

  test("without SMTP_Host nothing is sent, and the visitor is still answered", async () => {
    await setSettings(server, { SMTP_Host: "" });
    const unsent = await api(server, "livechat/offline.message", {
      body: { name: "Nobody", email: "n@example.com", message: "lost" },
    });
    await useInbox(server, inbox);
    const arrived = inbox.next((m) => m.subject?.includes("from Somebody") === true);

    const sent = await api(server, "livechat/offline.message", {
      body: { name: "Somebody", email: "s@example.com", message: "found" },
    });

    expect(unsent.body).toEqual({ success: true, message: "Livechat offline message sent" });
    expect(sent.body.success).toBe(true);
    await arrived;
    // The first mail was never handed to any transport, so it cannot arrive later either.
    expect(inbox.mails.filter((m) => m.subject?.includes("from Nobody"))).toEqual([]);
  });
});

describe("livechat/transcript", () => {
  test("mails the visitor the conversation, oldest first, and records it in the room", async () => {
    const { agent, token, room } = await conversation();
    const arrived = inbox.next((m) => addresses(m.to) === "copy@example.com");

    const res = await api(server, "livechat/transcript", {
      body: { token, rid: room._id, email: "copy@example.com" },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: "Omnichannel transcript sent" });
    const mail = await arrived;
    expect(mail.subject).toBe("Transcript of your omnichannel conversation.");
    expect(addresses(mail.from)).toBe("chat@parley.example.com");
    const lines = (mail.text ?? "").split("\n").filter((line) => line !== "");
    expect(lines[0]).toMatch(/^You {2}\w+ \d{1,2}, \d{4} \d{1,2}:\d{2} (AM|PM)$/);
    expect(lines[1]).toBe("Where is my <parcel>?");
    expect(lines[2]).toStartWith(`${agent.user.username}  `);
    expect(lines[3]).toBe("It ships today");
    expect(mail.html).toContain("Where is my &lt;parcel&gt;?");
    const record = await server.parley.services.deps.db.messages.findOne({
      rid: room._id,
      t: "livechat_transcript_history",
    });
    expect(record).toMatchObject({
      u: { _id: "rocket.cat" },
      msg: "",
      requestData: { type: "visitor", visitor: { token }, user: { _id: "rocket.cat" } },
    });
  });

  test("refuses another visitor's room, an unknown token, a bad address and missing fields", async () => {
    const { room } = await conversation();
    const other = await newVisitor(server);

    const notTheirs = await api(server, "livechat/transcript", {
      body: { token: other.token, rid: room._id, email: "a@example.com" },
    });
    const unknown = await api(server, "livechat/transcript", {
      body: { token: "no-such-token", rid: "no-such-room", email: "" },
    });
    const badAddress = await api(server, "livechat/transcript", {
      body: { token: room.v.token, rid: room._id, email: "test" },
    });
    const missing = await api(server, "livechat/transcript", { body: { token: "t", rid: "r" } });

    expect(notTheirs.body).toEqual({ success: false, error: "error-invalid-visitor" });
    expect(unknown.body).toEqual({ success: false, error: "error-invalid-visitor" });
    expect(badAddress.body).toEqual({
      success: false,
      error: "[invalid email]",
      errorType: "invalid email",
    });
    expect(missing.body).toMatchObject({ success: false, errorType: "invalid-params" });
    for (const res of [notTheirs, unknown, badAddress, missing]) expect(res.status).toBe(400);
  });

  test("an agent's transcript over DDP names them as its sender", async () => {
    const { token, room } = await conversation();
    const ddp = await RawDdp.connect(server.wsUrl);
    await ddp.resume(server.admin.authToken);
    const arrived = inbox.next((m) => addresses(m.to) === "agent-sent@example.com");

    const answer = await ddp.call(
      "livechat:sendTranscript",
      token,
      room._id,
      "agent-sent@example.com",
      "Your chat with us",
    );

    expect(answer.result).toBe(true);
    expect((await arrived).subject).toBe("Your chat with us");
    const record = await server.parley.services.deps.db.messages.findOne({
      rid: room._id,
      t: "livechat_transcript_history",
    });
    expect(record?.requestData).toMatchObject({ type: "user", user: { _id: server.admin.userId } });
    ddp.close();
  });
});

describe("livechat/transcript/:rid", () => {
  test("a transcript asked for is mailed when the agent closes the conversation", async () => {
    const { agent, room } = await conversation();
    const arrived = inbox.next((m) => m.subject === "Our conversation");

    const asked = await api(server, `livechat/transcript/${room._id}`, {
      auth: server.admin,
      body: { email: "at-close@example.com", subject: "Our conversation" },
    });
    const again = await api(server, `livechat/transcript/${room._id}`, {
      auth: server.admin,
      body: { email: "at-close@example.com", subject: "Our conversation" },
    });
    const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
    await api(server, "livechat/room.closeByUser", {
      auth: agent.credentials,
      body: { rid: room._id, comment: "done" },
    });

    expect(asked.body).toEqual({ success: true });
    expect(again.body).toEqual({
      success: false,
      error: "Transcript already requested [error-transcript-already-requested]",
      errorType: "error-transcript-already-requested",
    });
    expect(stored?.transcriptRequest).toMatchObject({
      email: "at-close@example.com",
      subject: "Our conversation",
      requestedBy: { _id: server.admin.userId },
    });
    const mail = await arrived;
    expect(addresses(mail.to)).toBe("at-close@example.com");
    expect(mail.text).toContain("It ships today");
    expect(mail.text).not.toContain("done");
    const closed = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
    expect(closed?.transcriptRequest).toBeUndefined();
  });

  test("a request is cancelled with DELETE, once", async () => {
    const { room } = await conversation();
    await api(server, `livechat/transcript/${room._id}`, {
      auth: server.admin,
      body: { email: "x@example.com", subject: "s" },
    });

    const first = await api(server, `livechat/transcript/${room._id}`, {
      auth: server.admin,
      method: "DELETE",
    });
    const second = await api(server, `livechat/transcript/${room._id}`, {
      auth: server.admin,
      method: "DELETE",
    });

    expect(first.body).toEqual({ success: true });
    expect(second.body).toEqual({ success: false, error: "error-transcript-not-requested" });
  });

  test("refuses anonymous callers, users without the permission, bad rooms and missing fields", async () => {
    const plain = await createUser(server);
    const anonymous = await api(server, "livechat/transcript/x", {
      body: { email: "a@example.com", subject: "s" },
    });
    const notAllowed = await api(server, "livechat/transcript/x", {
      auth: plain.credentials,
      body: { email: "a@example.com", subject: "s" },
    });
    const noRoom = await api(server, "livechat/transcript/no-such-room", {
      auth: server.admin,
      body: { email: "a@example.com", subject: "s" },
    });
    const noSubject = await api(server, "livechat/transcript/x", {
      auth: server.admin,
      body: { email: "a@example.com" },
    });
    const deleteNoRoom = await api(server, "livechat/transcript/no-such-room", {
      auth: server.admin,
      method: "DELETE",
    });

    expect(anonymous.status).toBe(401);
    expect(notAllowed.status).toBe(403);
    expect(noRoom.body).toEqual({
      success: false,
      error: "Invalid room [error-invalid-room]",
      errorType: "error-invalid-room",
    });
    expect(noSubject.body).toMatchObject({ success: false, errorType: "invalid-params" });
    expect(deleteNoRoom.body).toEqual({ success: false, error: "error-invalid-room" });
    for (const res of [noRoom, noSubject, deleteNoRoom]) expect(res.status).toBe(400);
  });
});
