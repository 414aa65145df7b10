import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";

let server: TestServer;
let alice: Person;
let bob: Person;
let carol: Person;
let channel: Room;
let group: Room;

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob, carol] = [await addPerson(server), await addPerson(server), await addPerson(server)];
  channel = await addRoom(server, "c", alice, [bob]);
  group = await addRoom(server, "p", alice, [bob]);
});

afterAll(() => server.stop());

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

function ref(person: Person) {
  return { _id: person.user._id, username: person.user.username, name: person.user.name };
}

async function sendAs(person: Person, rid: string, msg: string) {
  const res = await api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid, msg } },
  });
  expect(res.status).toBe(200);
  return res.body.message as { _id: string; rid: string; msg: string };
}

describe("chat.postMessage", () => {
  test("posts to a channel named #name and answers ts, channel and the message", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { channel: `#${channel.name}`, text: "hello", emoji: ":smirk:" },
    });

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.body).toEqual({
      success: true,
      ts: expect.any(Number),
      channel: `#${channel.name}`,
      message: {
        _id: expect.any(String),
        rid: channel._id,
        msg: "hello",
        emoji: ":smirk:",
        ts: ISO,
        _updatedAt: ISO,
        u: ref(alice),
        urls: [],
        mentions: [],
        channels: [],
        md: [{ type: "PARAGRAPH", value: [{ type: "PLAIN_TEXT", value: "hello" }] }],
      },
    });
  });

  test("answers [invalid-channel] when neither channel nor roomId is given", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { text: "lost" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "[invalid-channel]",
      errorType: "invalid-channel",
    });
  });

  test("joins the poster to a public channel named by roomId", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: carol.credentials,
      body: { roomId: channel._id, text: "hi all" },
    });
    const sub = await api(server, "subscriptions.getOne", {
      auth: carol.credentials,
      query: { roomId: channel._id },
    });

    expect(res.status).toBe(200);
    expect(sub.body.subscription).toMatchObject({ rid: channel._id, u: { _id: carol.user._id } });
  });

  test("opens the direct message with a user named @username", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { channel: `@${bob.user.username}`, text: "psst" },
    });

    expect(res.status).toBe(200);
    expect(res.body.channel).toBe(`@${bob.user.username}`);
    expect(res.body.message.rid).toBe([alice.user._id, bob.user._id].sort().join(""));
  });

  test("a non-member cannot post to a private group", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: carol.credentials,
      body: { roomId: group._id, text: "hi" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "error-not-allowed" });
  });

  test("refuses text longer than Message_MaxAllowedSize", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { roomId: channel._id, text: "x".repeat(5001) },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "error-message-size-exceeded" });
  });

  test("refuses a javascript: link in an attachment", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: {
        roomId: channel._id,
        text: "x",
        attachments: [{ title: "t", title_link: 'javascript:alert("xss")' }],
      },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "Invalid href value provided" });
  });

  test("refuses an alias from a user without message-impersonate", async () => {
    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { roomId: channel._id, text: "x", alias: "Someone Else" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "Not enough permission" });
  });

  test("answers 401 in Rocket.Chat's shape without credentials", async () => {
    const res = await api(server, "chat.postMessage", { body: { roomId: channel._id, text: "x" } });

    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      success: false,
      status: "error",
      message: "You must be logged in to do this.",
      error: "You must be logged in to do this.",
    });
  });
});

describe("chat.sendMessage", () => {
  test("keeps the _id the client chose", async () => {
    const res = await api(server, "chat.sendMessage", {
      auth: alice.credentials,
      body: { message: { _id: "client-chosen-id-1", rid: channel._id, msg: "mine" } },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      message: expect.objectContaining({
        _id: "client-chosen-id-1",
        rid: channel._id,
        msg: "mine",
        u: ref(alice),
      }),
    });
  });

  test("answers Rocket.Chat's sentence when rid is missing", async () => {
    const res = await api(server, "chat.sendMessage", {
      auth: alice.credentials,
      body: { message: { msg: "x" } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "The 'rid' property on the message object is missing.",
    });
  });

  test("refuses a system message type", async () => {
    const res = await api(server, "chat.sendMessage", {
      auth: alice.credentials,
      body: { message: { rid: channel._id, msg: "x", t: "subscription-role-added" } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Cannot send system messages using 'chat.sendMessage'",
    });
  });

  test("answers error-message-size-exceeded with details over the size limit", async () => {
    const res = await api(server, "chat.sendMessage", {
      auth: alice.credentials,
      body: { message: { rid: channel._id, msg: "x".repeat(5001) } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]",
      errorType: "error-message-size-exceeded",
      details: { method: "sendMessage" },
    });
  });

  test("answers error-invalid-room for a room that does not exist", async () => {
    const res = await api(server, "chat.sendMessage", {
      auth: alice.credentials,
      body: { message: { rid: "no-such-room", msg: "x" } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "error-invalid-room" });
  });

  test("a non-member cannot send to a private group", async () => {
    const res = await api(server, "chat.sendMessage", {
      auth: carol.credentials,
      body: { message: { rid: group._id, msg: "let me in" } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "error-not-allowed" });
  });

  test("rejects an operator object as rid with 400 instead of running it", async () => {
    const res = await api(server, "chat.sendMessage", {
      auth: alice.credentials,
      body: { message: { rid: { $ne: "x" }, msg: "x" } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });
});

describe("chat.update", () => {
  test("edits the author's own message", async () => {
    const original = await sendAs(alice, channel._id, "draft");

    const res = await api(server, "chat.update", {
      auth: alice.credentials,
      body: { roomId: channel._id, msgId: original._id, text: "final" },
    });

    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({
      _id: original._id,
      msg: "final",
      editedAt: ISO,
      editedBy: { _id: alice.user._id, username: alice.user.username },
    });
  });

  test("refuses to edit another user's message without edit-message", async () => {
    const original = await sendAs(alice, channel._id, "alice's words");

    const res = await api(server, "chat.update", {
      auth: bob.credentials,
      body: { roomId: channel._id, msgId: original._id, text: "bob's words" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Message editing not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "updateMessage", action: "Message_editing" },
    });
  });

  test("names the message id it cannot find", async () => {
    const res = await api(server, "chat.update", {
      auth: alice.credentials,
      body: { roomId: channel._id, msgId: "invalid-id", text: "x" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: 'No message found with the id of "invalid-id".',
    });
  });

  test("refuses a roomId that is not the message's room", async () => {
    const original = await sendAs(alice, channel._id, "here");

    const res = await api(server, "chat.update", {
      auth: alice.credentials,
      body: { roomId: group._id, msgId: original._id, text: "there" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "The room id provided does not match where the message is from.",
    });
  });

  test("answers invalid-params when text is missing", async () => {
    const res = await api(server, "chat.update", {
      auth: alice.credentials,
      body: { roomId: channel._id, msgId: "x" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'text' [invalid-params]",
      errorType: "invalid-params",
    });
  });
});

describe("chat.delete", () => {
  test("deletes the author's own message and answers _id, ts and the message reference", async () => {
    const original = await sendAs(bob, channel._id, "oops");

    const res = await api(server, "chat.delete", {
      auth: bob.credentials,
      body: { roomId: channel._id, msgId: original._id },
    });
    const after = await api(server, "chat.getMessage", {
      auth: bob.credentials,
      query: { msgId: original._id },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      _id: original._id,
      ts: expect.stringMatching(/^\d+$/),
      message: { _id: original._id, rid: channel._id, u: ref(bob) },
    });
    expect(after.body).toEqual({ success: false });
  });

  test("refuses to delete another user's message without delete-message", async () => {
    const original = await sendAs(alice, channel._id, "keep me");

    const res = await api(server, "chat.delete", {
      auth: bob.credentials,
      body: { roomId: channel._id, msgId: original._id },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
    });
  });

  test("refuses asUser without force-delete-message", async () => {
    const original = await sendAs(alice, channel._id, "still mine");

    const res = await api(server, "chat.delete", {
      auth: bob.credentials,
      body: { roomId: channel._id, msgId: original._id, asUser: true },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: `Unauthorized. You must have the permission "force-delete-message" to delete other's message as them.`,
    });
  });

  test("lets an administrator delete another user's message as its author", async () => {
    const original = await sendAs(bob, channel._id, "moderate me");

    const res = await api(server, "chat.delete", {
      auth: server.admin,
      body: { roomId: channel._id, msgId: original._id, asUser: true },
    });

    expect(res.status).toBe(200);
    expect(res.body.message).toEqual({ _id: original._id, rid: channel._id, u: ref(bob) });
  });

  test("rejects operator objects as ids with 400", async () => {
    const res = await api(server, "chat.delete", {
      auth: alice.credentials,
      body: { roomId: { $ne: 1 }, msgId: { $gt: "" } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });
});

describe("chat.getMessage", () => {
  test("returns a message of a room the caller can read", async () => {
    const original = await sendAs(alice, group._id, "for members");

    const res = await api(server, "chat.getMessage", {
      auth: bob.credentials,
      query: { msgId: original._id },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: original });
  });

  test("a non-member cannot read a private group's message", async () => {
    const original = await sendAs(alice, group._id, "secret");

    const res = await api(server, "chat.getMessage", {
      auth: carol.credentials,
      query: { msgId: original._id },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "getSingleMessage" },
    });
  });

  test("answers a bare failure for an unknown id", async () => {
    const res = await api(server, "chat.getMessage", {
      auth: alice.credentials,
      query: { msgId: "nope" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false });
  });

  test("rejects a query operator in msgId with 400", async () => {
    const res = await api(server, "chat.getMessage", {
      auth: alice.credentials,
      query: { "msgId[$ne]": "x" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'msgId' [invalid-params]",
      errorType: "invalid-params",
    });
  });
});
