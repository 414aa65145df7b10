/**
 * The rules for editing and deleting messages, over REST and DDP, each flipped in a
 * running server: Message_AllowEditing, Message_AllowEditing_BlockEditInMinutes,
 * Message_AllowDeleting, Message_AllowDeleting_BlockDeleteInMinutes, Message_KeepHistory,
 * Message_MaxAllowedSize, and the permissions edit-message, delete-message,
 * delete-own-message, force-delete-message and bypass-time-limit-edit-and-delete.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { Clients } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { Switches } from "./fixtures/switches.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
const clients = new Clients();
/** How far the server's clock runs ahead of the wall clock; only ever grows. */
let aheadMs = 0;
let owner: Person;
let member: Person;
let bot: Person;
let channel: Room;

beforeAll(async () => {
  server = await startTestServer({ clock: { now: () => new Date(Date.now() + aheadMs) } });
  switches = new Switches(server);
  [owner, member, bot] = [
    await addPerson(server),
    await addPerson(server),
    await addPerson(server, ["bot"]),
  ];
  channel = await addRoom(server, "c", owner, [member, bot]);
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

async function send(person: Person, msg = "original") {
  const res = await api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid: channel._id, msg } },
  });
  expect(res.status).toBe(200);
  return res.body.message as { _id: string; ts: string };
}

function edit(person: Person, msgId: string, text = "edited") {
  return api(server, "chat.update", {
    auth: person.credentials,
    body: { roomId: channel._id, msgId, text },
  });
}

function remove(person: Person, msgId: string) {
  return api(server, "chat.delete", {
    auth: person.credentials,
    body: { roomId: channel._id, msgId },
  });
}

/** Lets `minutes` pass on the server's clock. */
function wait(minutes: number): void {
  aheadMs += minutes * 60_000;
}

function stored(msgId: string) {
  return server.parley.services.deps.db.messages.findOne({ _id: msgId });
}

describe("editing", () => {
  test("an edit sets editedAt and editedBy", async () => {
    const sent = await send(member);

    const res = await edit(member, sent._id);

    expect(res.body.message).toMatchObject({
      msg: "edited",
      editedAt: expect.any(String),
      editedBy: { _id: member.user._id, username: member.user.username },
    });
  });

  test("Message_AllowEditing off refuses an author's own edit", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowEditing", false);

    const res = await edit(member, sent._id);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Message editing not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "updateMessage", action: "Message_editing" },
    });
  });

  test("Message_AllowEditing off still lets a holder of edit-message edit", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowEditing", false);

    const res = await edit(owner, sent._id);

    expect(res.status).toBe(200);
  });

  test("edit-message taken from owners stops them editing others' messages", async () => {
    const sent = await send(member);
    await switches.permission("edit-message", ["admin"]);

    const res = await edit(owner, sent._id);

    expect(res.body.errorType).toBe("error-action-not-allowed");
  });

  test("Message_AllowEditing_BlockEditInMinutes blocks edits of older messages", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowEditing_BlockEditInMinutes", 5);
    wait(5);

    const res = await edit(member, sent._id);

    expect(res.body).toEqual({
      success: false,
      error: "Message editing is blocked [error-message-editing-blocked]",
      errorType: "error-message-editing-blocked",
      details: { method: "updateMessage" },
    });
  });

  test("the edit time limit leaves younger messages editable", async () => {
    await switches.setting("Message_AllowEditing_BlockEditInMinutes", 5);
    const sent = await send(member);
    wait(4);

    const res = await edit(member, sent._id);

    expect(res.status).toBe(200);
  });

  test("bypass-time-limit-edit-and-delete lets a bot edit past the limit", async () => {
    const sent = await send(bot);
    await switches.setting("Message_AllowEditing_BlockEditInMinutes", 1);
    wait(2);

    const res = await edit(bot, sent._id);

    expect(res.status).toBe(200);
  });

  test("bypass-time-limit-edit-and-delete given to users lets a member edit past the limit", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowEditing_BlockEditInMinutes", 1);
    await switches.permission("bypass-time-limit-edit-and-delete", ["bot", "app", "user"]);
    wait(2);

    const res = await edit(member, sent._id);

    expect(res.status).toBe(200);
  });

  test("the edit time limit applies over DDP too", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowEditing_BlockEditInMinutes", 1);
    wait(2);
    const ddp = await clients.connect(server, seeded(member));

    const answer = await ddp.call("updateMessage", { _id: sent._id, rid: channel._id, msg: "x" });

    expect(answer.error).toMatchObject({
      error: "error-message-editing-blocked",
      reason: "Message editing is blocked",
    });
  });

  test("Message_MaxAllowedSize refuses a longer edit", async () => {
    const sent = await send(member);
    await switches.setting("Message_MaxAllowedSize", 10);

    const res = await edit(member, sent._id, "x".repeat(11));

    expect(res.body).toMatchObject({ errorType: "error-message-size-exceeded" });
  });

  test("Message_KeepHistory keeps the previous version as a hidden copy", async () => {
    const sent = await send(member, "version one");
    await switches.setting("Message_KeepHistory", true);

    await edit(member, sent._id, "version two");
    const copies = await server.parley.services.deps.db.messages.find({ parent: sent._id });

    expect(copies).toEqual([
      expect.objectContaining({
        _id: expect.not.stringMatching(sent._id),
        rid: channel._id,
        msg: "version one",
        _hidden: true,
        parent: sent._id,
        editedBy: { _id: member.user._id, username: member.user.username },
      }),
    ]);
  });

  test("hidden copies stay out of the room's history", async () => {
    const room = await addRoom(server, "c", owner);
    await switches.setting("Message_KeepHistory", true);
    const sent = (
      await api(server, "chat.sendMessage", {
        auth: owner.credentials,
        body: { message: { rid: room._id, msg: "v1" } },
      })
    ).body.message;

    await api(server, "chat.update", {
      auth: owner.credentials,
      body: { roomId: room._id, msgId: sent._id, text: "v2" },
    });
    const history = await api(server, "channels.history", {
      auth: owner.credentials,
      query: { roomId: room._id },
    });

    expect(history.body.messages.map((m: { msg: string }) => m.msg)).toEqual(["v2"]);
  });

  test("without Message_KeepHistory no copy is kept", async () => {
    const sent = await send(member);

    await edit(member, sent._id);

    expect(await server.parley.services.deps.db.messages.find({ parent: sent._id })).toEqual([]);
  });
});

describe("deleting", () => {
  test("Message_AllowDeleting off refuses an author's own deletion", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowDeleting", false);

    const res = await remove(member, sent._id);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
    });
  });

  test("Message_AllowDeleting off still lets a holder of force-delete-message delete", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowDeleting", false);

    const res = await remove(owner, sent._id);

    expect(res.status).toBe(200);
  });

  test("delete-own-message taken from users stops them deleting their own messages", async () => {
    const sent = await send(member);
    await switches.permission("delete-own-message", ["admin"]);

    const res = await remove(member, sent._id);

    expect(res.body.errorType).toBe("error-action-not-allowed");
  });

  test("delete-message alone lets an owner delete others' messages", async () => {
    const sent = await send(member);
    await switches.permission("force-delete-message", ["admin"]);

    const allowed = await remove(owner, sent._id);

    expect(allowed.status).toBe(200);
  });

  test("without delete-message nor force-delete-message an owner cannot delete others' messages", async () => {
    const sent = await send(member);
    await switches.permission("force-delete-message", ["admin"]);
    await switches.permission("delete-message", ["admin"]);

    const res = await remove(owner, sent._id);

    expect(res.body.errorType).toBe("error-action-not-allowed");
  });

  test("Message_AllowDeleting_BlockDeleteInMinutes blocks deleting older messages", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowDeleting_BlockDeleteInMinutes", 2);
    wait(3);

    const res = await remove(member, sent._id);

    expect(res.body.errorType).toBe("error-action-not-allowed");
  });

  test("the delete time limit does not bind a holder of force-delete-message", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowDeleting_BlockDeleteInMinutes", 2);
    wait(3);

    const res = await remove(owner, sent._id);

    expect(res.status).toBe(200);
  });

  test("the delete time limit applies over DDP too", async () => {
    const sent = await send(member);
    await switches.setting("Message_AllowDeleting_BlockDeleteInMinutes", 1);
    wait(2);
    const ddp = await clients.connect(server, seeded(member));

    const answer = await ddp.call("deleteMessage", { _id: sent._id });

    expect(answer.error).toMatchObject({
      error: "error-action-not-allowed",
      reason: "Not allowed",
    });
  });

  test("Message_KeepHistory keeps a deleted message, hidden from the history", async () => {
    const sent = await send(member, "to be hidden");
    await switches.setting("Message_KeepHistory", true);

    const res = await remove(member, sent._id);
    const history = await api(server, "channels.history", {
      auth: member.credentials,
      query: { roomId: channel._id, count: "100" },
    });

    expect(res.status).toBe(200);
    expect(await stored(sent._id)).toMatchObject({ _id: sent._id, _hidden: true });
    expect(history.body.messages.map((m: { _id: string }) => m._id)).not.toContain(sent._id);
  });

  test("without Message_KeepHistory a deleted message is gone", async () => {
    const sent = await send(member);

    await remove(member, sent._id);

    expect(await stored(sent._id)).toBeNull();
  });
});

function seeded(person: Person) {
  return {
    _id: person.user._id,
    username: person.user.username,
    password: "rocket.chat",
    credentials: person.credentials,
  };
}
