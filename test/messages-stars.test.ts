/**
 * Stars over REST (`chat.starMessage`, `chat.unStarMessage`) and DDP (`starMessage`)
 * under Message_AllowStarring, and the lists `chat.getStarredMessages` and
 * `chat.getMentionedMessages`, each only for readers of the room.
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
let memberDdp: RawDdp;

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  [owner, member, outsider] = [
    await addPerson(server),
    await addPerson(server),
    await addPerson(server),
  ];
  channel = await addRoom(server, "c", owner, [member]);
  memberDdp = await clients.connect(server, {
    _id: member.user._id,
    username: member.user.username,
    password: "rocket.chat",
    credentials: member.credentials,
  });
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

async function send(rid = channel._id, msg = "star me", person = owner) {
  const res = await api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid, msg } },
  });
  return res.body.message as { _id: string };
}

function star(person: Person, messageId: string, on = true) {
  const route = on ? "chat.starMessage" : "chat.unStarMessage";
  return api(server, route, { auth: person.credentials, body: { messageId } });
}

async function starredOf(msgId: string) {
  return (await server.parley.services.deps.db.messages.findOne({ _id: msgId }))?.starred;
}

describe("chat.starMessage and chat.unStarMessage", () => {
  test("starring adds the caller to starred and streams the message", async () => {
    const sent = await send();
    await memberDdp.sub("stream-room-messages", channel._id, false);

    const res = await star(member, sent._id);
    const [changed] = await memberDdp.streamEvent(
      "stream-room-messages",
      channel._id,
      ([m]) => (m as { _id: string; starred?: unknown })._id === sent._id,
    );

    expect(res.body).toEqual({ success: true });
    expect(changed).toMatchObject({ _id: sent._id, starred: [{ _id: member.user._id }] });
  });

  test("unstarring takes off only the caller's star", async () => {
    const sent = await send();
    await star(member, sent._id);
    await star(owner, sent._id);

    await star(member, sent._id, false);

    expect(await starredOf(sent._id)).toEqual([{ _id: owner.user._id }]);
  });

  test("starring twice keeps one star", async () => {
    const sent = await send();

    await star(member, sent._id);
    await star(member, sent._id);

    expect(await starredOf(sent._id)).toEqual([{ _id: member.user._id }]);
  });

  test("a reader who is not a member stars nothing, and is told success", async () => {
    const sent = await send();

    const res = await star(outsider, sent._id);

    expect(res.body).toEqual({ success: true });
    expect(await starredOf(sent._id)).toBeUndefined();
  });

  test("Message_AllowStarring off refuses stars and unstars", async () => {
    const sent = await send();
    await switches.setting("Message_AllowStarring", false);

    const starring = await star(member, sent._id);
    const unstarring = await star(member, sent._id, false);

    const refusal = {
      success: false,
      error: "Message starring not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "starMessage", action: "Message_starring" },
    };
    expect(starring.body).toEqual(refusal);
    expect(unstarring.body).toEqual(refusal);
  });
});

describe("starMessage over DDP", () => {
  test("answers true and stars the message", async () => {
    const sent = await send();

    const answer = await memberDdp.call("starMessage", {
      _id: sent._id,
      rid: channel._id,
      starred: true,
    });

    expect(answer.result).toBe(true);
    expect(await starredOf(sent._id)).toEqual([{ _id: member.user._id }]);
  });

  test("answers false for a message that is not in the room named", async () => {
    const sent = await send();
    const other = await addRoom(server, "c", owner, [member]);

    const answer = await memberDdp.call("starMessage", {
      _id: sent._id,
      rid: other._id,
      starred: true,
    });

    expect(answer.result).toBe(false);
    expect(await starredOf(sent._id)).toBeUndefined();
  });
});

describe("chat.getStarredMessages", () => {
  test("lists the messages the caller starred, showing only their own star", async () => {
    const room = await addRoom(server, "c", owner, [member]);
    const starred = await send(room._id, "starred");
    await send(room._id, "not starred");
    await star(owner, starred._id);
    await star(member, starred._id);

    const res = await api(server, "chat.getStarredMessages", {
      auth: member.credentials,
      query: { roomId: room._id },
    });

    expect(res.body).toEqual({
      success: true,
      messages: [
        expect.objectContaining({ _id: starred._id, starred: [{ _id: member.user._id }] }),
      ],
      count: 1,
      offset: 0,
      total: 1,
    });
  });

  test("refuses a room the caller cannot read with a bare error-not-allowed", async () => {
    const group = await addRoom(server, "p", owner);

    const res = await api(server, "chat.getStarredMessages", {
      auth: outsider.credentials,
      query: { roomId: group._id },
    });

    expect(res.body).toEqual({ success: false, error: "error-not-allowed" });
  });

  test("needs roomId", async () => {
    const res = await api(server, "chat.getStarredMessages", { auth: member.credentials });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });
});

describe("chat.getMentionedMessages", () => {
  test("lists the messages that mention the caller", async () => {
    const room = await addRoom(server, "c", owner, [member]);
    const mention = await send(room._id, `hello @${member.user.username}`);
    await send(room._id, "hello nobody");
    await send(room._id, `hello @${owner.user.username}`);

    const res = await api(server, "chat.getMentionedMessages", {
      auth: member.credentials,
      query: { roomId: room._id },
    });

    expect(res.body).toEqual({
      success: true,
      messages: [expect.objectContaining({ _id: mention._id })],
      count: 1,
      offset: 0,
      total: 1,
    });
  });

  test("refuses a room that does not exist with a bare error-not-allowed", async () => {
    const res = await api(server, "chat.getMentionedMessages", {
      auth: member.credentials,
      query: { roomId: "invalid-room" },
    });

    expect(res.body).toEqual({ success: false, error: "error-not-allowed" });
  });
});
