/**
 * Pins over REST (`chat.pinMessage`, `chat.unPinMessage`, `chat.getPinnedMessages`) and
 * DDP (`pinMessage`, `unpinMessage`), under the permission pin-message and the settings
 * Message_AllowPinning and Message_KeepHistory.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { Clients } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { Switches } from "./fixtures/switches.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
const clients = new Clients();
let owner: Person;
let member: Person;
let outsider: Person;
let channel: Room;
let ownerDdp: RawDdp;

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  [owner, member, outsider] = [
    await addPerson(server),
    await addPerson(server),
    await addPerson(server),
  ];
  channel = await addRoom(server, "c", owner, [member]);
  ownerDdp = await clients.connect(server, {
    _id: owner.user._id,
    username: owner.user.username,
    password: "rocket.chat",
    credentials: owner.credentials,
  });
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

async function send(rid = channel._id, msg = "pin me") {
  const res = await api(server, "chat.sendMessage", {
    auth: member.credentials,
    body: { message: { rid, msg } },
  });
  return res.body.message as { _id: string; ts: string };
}

function pin(person: Person, messageId: string) {
  return api(server, "chat.pinMessage", { auth: person.credentials, body: { messageId } });
}

function unpin(person: Person, messageId: string) {
  return api(server, "chat.unPinMessage", { auth: person.credentials, body: { messageId } });
}

function stored(msgId: string) {
  return server.parley.services.deps.db.messages.findOne({ _id: msgId });
}

describe("chat.pinMessage", () => {
  test("answers the message_pinned system message with the pinned message attached", async () => {
    const sent = await send();

    const res = await pin(owner, sent._id);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      message: {
        _id: expect.any(String),
        rid: channel._id,
        t: "message_pinned",
        msg: "",
        ts: ISO,
        u: { _id: owner.user._id, username: owner.user.username, name: owner.user.name },
        _updatedAt: ISO,
        groupable: false,
        attachments: [
          {
            text: "pin me",
            author_name: member.user.username,
            author_icon: `/avatar/${member.user.username}`,
            ts: sent.ts,
            attachments: [],
          },
        ],
      },
    });
  });

  test("marks the message pinned, by whom and when, and streams it", async () => {
    const sent = await send();
    await ownerDdp.sub("stream-room-messages", channel._id, false);

    await pin(owner, sent._id);
    const [changed] = await ownerDdp.streamEvent(
      "stream-room-messages",
      channel._id,
      ([m]) => (m as { _id: string; pinned?: boolean })._id === sent._id,
    );

    expect(changed).toMatchObject({
      _id: sent._id,
      pinned: true,
      pinnedAt: expect.any(Date),
      pinnedBy: { _id: owner.user._id, username: owner.user.username },
    });
  });

  test("answers the message itself when it is pinned already", async () => {
    const sent = await send();
    await pin(owner, sent._id);

    const again = await pin(owner, sent._id);

    expect(again.body.message).toMatchObject({ _id: sent._id, pinned: true });
  });

  test("a member without pin-message cannot pin", async () => {
    const sent = await send();

    const res = await pin(member, sent._id);

    expect(res.body).toEqual({
      success: false,
      error: "Not Authorized [not-authorized]",
      errorType: "not-authorized",
      details: { method: "pinMessage" },
    });
    expect((await stored(sent._id))?.pinned).toBeUndefined();
  });

  test("pin-message given to users lets a member pin", async () => {
    const sent = await send();
    await switches.permission("pin-message", ["owner", "moderator", "admin", "user"]);

    const res = await pin(member, sent._id);

    expect(res.status).toBe(200);
  });

  test("Message_AllowPinning off refuses pins", async () => {
    const sent = await send();
    await switches.setting("Message_AllowPinning", false);

    const res = await pin(owner, sent._id);

    expect(res.body).toEqual({
      success: false,
      error: "Message pinning not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "pinMessage", action: "Message_pinning" },
    });
  });

  test("answers error-message-not-found for an unknown message", async () => {
    const res = await pin(owner, "noSuchMessage");

    expect(res.body.errorType).toBe("error-message-not-found");
  });
});

describe("chat.unPinMessage", () => {
  test("unpins, naming who unpinned", async () => {
    const sent = await send();
    await pin(owner, sent._id);

    const res = await unpin(owner, sent._id);

    expect(res.body).toEqual({ success: true });
    expect(await stored(sent._id)).toMatchObject({
      pinned: false,
      pinnedBy: { _id: owner.user._id, username: owner.user.username },
    });
  });

  test("answers a non-member as if the message did not exist", async () => {
    const sent = await send();
    await pin(owner, sent._id);

    const res = await unpin(outsider, sent._id);

    expect(res.body).toEqual({
      success: false,
      error: "Message you are unpinning was not found [error-invalid-message]",
      errorType: "error-invalid-message",
      details: { method: "unpinMessage", action: "Message_pinning" },
    });
  });

  test("Message_AllowPinning off refuses unpins", async () => {
    const sent = await send();
    await pin(owner, sent._id);
    await switches.setting("Message_AllowPinning", false);

    const res = await unpin(owner, sent._id);

    expect(res.body.errorType).toBe("error-action-not-allowed");
    expect((await stored(sent._id))?.pinned).toBe(true);
  });

  test("Message_KeepHistory keeps the pinned version as a hidden copy", async () => {
    const sent = await send();
    await pin(owner, sent._id);
    await switches.setting("Message_KeepHistory", true);

    await unpin(owner, sent._id);
    const copies = await server.parley.services.deps.db.messages.find({ parent: sent._id });

    expect(copies).toEqual([expect.objectContaining({ pinned: true, _hidden: true })]);
  });
});

describe("chat.getPinnedMessages", () => {
  test("lists a room's pinned messages, newest first, with count, offset and total", async () => {
    const room = await addRoom(server, "c", owner, [member]);
    const first = await send(room._id, "first");
    const second = await send(room._id, "second");
    await send(room._id, "not pinned");
    await pin(owner, first._id);
    await pin(owner, second._id);

    const res = await api(server, "chat.getPinnedMessages", {
      auth: member.credentials,
      query: { roomId: room._id, count: "1" },
    });

    expect(res.body).toEqual({
      success: true,
      messages: [expect.objectContaining({ _id: second._id, pinned: true })],
      count: 1,
      offset: 0,
      total: 2,
    });
  });

  test("refuses a room the caller cannot read", async () => {
    const group = await addRoom(server, "p", owner);

    const res = await api(server, "chat.getPinnedMessages", {
      auth: outsider.credentials,
      query: { roomId: group._id },
    });

    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
    });
  });
});

describe("pinMessage and unpinMessage over DDP", () => {
  test("pinMessage answers the system message and unpinMessage answers true", async () => {
    const sent = await send();

    const pinned = await ownerDdp.call("pinMessage", { _id: sent._id });
    const unpinned = await ownerDdp.call("unpinMessage", { _id: sent._id });

    expect(pinned.result).toMatchObject({ t: "message_pinned", rid: channel._id });
    expect(unpinned.result).toBe(true);
    expect((await stored(sent._id))?.pinned).toBe(false);
  });

  test("pinMessage takes the pinning time given", async () => {
    const sent = await send();
    const at = new Date("2024-01-02T03:04:05.000Z");

    await ownerDdp.call("pinMessage", { _id: sent._id }, at);

    expect((await stored(sent._id))?.pinnedAt).toEqual(at);
  });

  test("pinMessage answers error-invalid-message for an unknown message", async () => {
    const answer = await ownerDdp.call("pinMessage", { _id: "noSuchMessage" });

    expect(answer.error).toMatchObject({
      error: "error-invalid-message",
      reason: "Message you are pinning was not found",
    });
  });
});
