/**
 * Reactions over REST (`chat.react`) and DDP (`setReaction`): toggling, `shouldReact`,
 * emoji names, the message change on `stream-room-messages`, and who may react.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { Clients } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();
let owner: Person;
let member: Person;
let outsider: Person;
let channel: Room;
let group: Room;
let ownerDdp: RawDdp;

beforeAll(async () => {
  server = await startTestServer();
  [owner, member, outsider] = [
    await addPerson(server),
    await addPerson(server),
    await addPerson(server),
  ];
  channel = await addRoom(server, "c", owner, [member]);
  group = await addRoom(server, "p", owner, [member]);
  ownerDdp = await clients.connect(server, seeded(owner));
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

function seeded(person: Person) {
  const { _id, username } = person.user;
  return { _id, username, password: "rocket.chat", credentials: person.credentials };
}

async function send(rid = channel._id, person = owner) {
  const res = await api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid, msg: "react to me" } },
  });
  return res.body.message as { _id: string };
}

function react(person: Person, body: Record<string, unknown>) {
  return api(server, "chat.react", { auth: person.credentials, body });
}

async function reactionsOf(msgId: string) {
  return (await server.parley.services.deps.db.messages.findOne({ _id: msgId }))?.reactions;
}

describe("chat.react", () => {
  test("adds the caller's reaction and streams the changed message", async () => {
    const sent = await send();
    await ownerDdp.sub("stream-room-messages", channel._id, false);

    const res = await react(member, { messageId: sent._id, emoji: ":smile:" });
    const [changed] = await ownerDdp.streamEvent(
      "stream-room-messages",
      channel._id,
      ([m]) => (m as { _id: string; reactions?: unknown })._id === sent._id,
    );

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect(changed).toMatchObject({
      _id: sent._id,
      reactions: { ":smile:": { usernames: [member.user.username] } },
    });
  });

  test("reacting again with the same emoji takes the reaction back", async () => {
    const sent = await send();
    await react(member, { messageId: sent._id, emoji: ":smile:" });

    await react(member, { messageId: sent._id, emoji: ":smile:" });

    expect(await reactionsOf(sent._id)).toBeUndefined();
  });

  test("gathers the users who reacted with one emoji", async () => {
    const sent = await send();

    await react(member, { messageId: sent._id, emoji: ":tada:" });
    await react(owner, { messageId: sent._id, emoji: ":tada:" });
    await react(owner, { messageId: sent._id, emoji: ":+1:" });

    expect(await reactionsOf(sent._id)).toEqual({
      ":tada:": { usernames: [member.user.username, owner.user.username] },
      ":+1:": { usernames: [owner.user.username] },
    });
  });

  test("shouldReact true keeps a reaction and false removes it", async () => {
    const sent = await send();
    await react(member, { messageId: sent._id, emoji: ":eyes:", shouldReact: true });

    await react(member, { messageId: sent._id, emoji: ":eyes:", shouldReact: true });
    const kept = await reactionsOf(sent._id);
    await react(member, { messageId: sent._id, emoji: ":eyes:", shouldReact: false });

    expect(kept).toEqual({ ":eyes:": { usernames: [member.user.username] } });
    expect(await reactionsOf(sent._id)).toBeUndefined();
  });

  test("takes a name without colons, and the reaction parameter", async () => {
    const sent = await send();

    await react(member, { messageId: sent._id, emoji: "bee" });
    await react(member, { messageId: sent._id, reaction: "ant" });

    expect(await reactionsOf(sent._id)).toEqual({
      ":bee:": { usernames: [member.user.username] },
      ":ant:": { usernames: [member.user.username] },
    });
  });

  test("refuses a Unicode emoji as Rocket.Chat does", async () => {
    const sent = await send();

    const res = await react(member, { messageId: sent._id, emoji: "👍" });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Invalid emoji provided. [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "setReaction" },
    });
  });

  test("refuses a name with a dot or a dollar sign, which would name another field", async () => {
    const sent = await send();

    const answers = await Promise.all(
      [":a.b:", "$set", ":x$y:", "."].map((emoji) => react(member, { messageId: sent._id, emoji })),
    );

    expect(answers.map((res) => [res.status, res.body.errorType])).toEqual(
      answers.map(() => [400, "error-not-allowed"]),
    );
    expect(await reactionsOf(sent._id)).toBeUndefined();
  });

  test("keeps the reactions of the room's last message in lastMessage", async () => {
    const sent = await send();
    const lastReactions = async () =>
      (await server.parley.services.deps.db.rooms.findOne({ _id: channel._id }))?.lastMessage
        ?.reactions;

    await react(member, { messageId: sent._id, emoji: ":tada:" });
    await react(owner, { messageId: sent._id, emoji: ":+1:" });
    const both = await lastReactions();
    await react(member, { messageId: sent._id, emoji: ":tada:" });
    const one = await lastReactions();
    await react(owner, { messageId: sent._id, emoji: ":+1:" });

    expect(both).toEqual({
      ":tada:": { usernames: [member.user.username] },
      ":+1:": { usernames: [owner.user.username] },
    });
    expect(one).toEqual({ ":+1:": { usernames: [owner.user.username] } });
    expect(await lastReactions()).toBeUndefined();
  });

  test("answers error-message-not-found for an unknown message", async () => {
    const res = await react(member, { messageId: "noSuchMessage", emoji: ":smile:" });

    expect(res.body).toEqual({
      success: false,
      error:
        'The provided "messageId" does not match any existing message. [error-message-not-found]',
      errorType: "error-message-not-found",
    });
  });

  test("needs emoji or reaction", async () => {
    const sent = await send();

    const res = await react(member, { messageId: sent._id });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });

  test("a non-member cannot react in a private group", async () => {
    const sent = await send(group._id);

    const res = await react(outsider, { messageId: sent._id, emoji: ":smile:" });

    expect(res.body).toEqual({
      success: false,
      error: "Not Authorized [not-authorized]",
      errorType: "not-authorized",
      details: { method: "setReaction" },
    });
    expect(await reactionsOf(sent._id)).toBeUndefined();
  });

  test("a member without post-readonly cannot react in a read-only room", async () => {
    const readOnly = await server.parley.services.rooms.create({
      type: "c",
      name: `read-only-${crypto.randomUUID().slice(0, 8)}`,
      owner: owner.user,
      members: [member.user.username],
      readOnly: true,
    });
    const sent = await send(readOnly._id);

    const res = await react(member, { messageId: sent._id, emoji: ":smile:" });

    expect(res.body).toEqual({
      success: false,
      error: "You can't send messages because the room is readonly.",
    });
  });
});

describe("a muted member", () => {
  /** A channel where `member` is muted, set before the room's actor first loads it. */
  async function mutedRoom() {
    const room = await addRoom(server, "c", owner, [member]);
    const { rooms } = server.parley.services.deps.db;
    await rooms.updateOne({ _id: room._id }, { $set: { muted: [member.user.username] } });
    return room;
  }

  test("cannot react over REST", async () => {
    const room = await mutedRoom();
    const sent = await send(room._id);

    const res = await react(member, { messageId: sent._id, emoji: ":smile:" });

    expect(res.body).toEqual({
      success: false,
      error: "You have been muted and cannot speak in this room [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { rid: room._id },
    });
  });

  test("is answered false over DDP and told why privately", async () => {
    const room = await mutedRoom();
    const sent = await send(room._id);
    const ddp = await clients.connect(server, seeded(member));
    await ddp.sub("stream-notify-user", `${member.user._id}/message`, false);

    const answer = await ddp.call("setReaction", ":smile:", sent._id);
    const [notice] = await ddp.streamEvent("stream-notify-user", `${member.user._id}/message`);

    expect(answer.result).toBe(false);
    expect(notice).toMatchObject({
      rid: room._id,
      msg: "You have been muted and cannot speak in this room",
    });
    expect(await reactionsOf(sent._id)).toBeUndefined();
  });
});

describe("setReaction over DDP", () => {
  test("toggles the caller's reaction and answers nothing", async () => {
    const sent = await send();

    const first = await ownerDdp.call("setReaction", ":heart:", sent._id);
    const reacted = await reactionsOf(sent._id);
    await ownerDdp.call("setReaction", ":heart:", sent._id);

    expect(first).not.toHaveProperty("error");
    expect(first).not.toHaveProperty("result");
    expect(reacted).toEqual({ ":heart:": { usernames: [owner.user.username] } });
    expect(await reactionsOf(sent._id)).toBeUndefined();
  });

  test("follows shouldReact", async () => {
    const sent = await send();

    await ownerDdp.call("setReaction", "heart", sent._id, false);
    const untouched = await reactionsOf(sent._id);
    await ownerDdp.call("setReaction", "heart", sent._id, true);

    expect(untouched).toBeUndefined();
    expect(await reactionsOf(sent._id)).toEqual({
      ":heart:": { usernames: [owner.user.username] },
    });
  });

  test("answers error-not-allowed for an unknown message", async () => {
    const answer = await ownerDdp.call("setReaction", ":heart:", "noSuchMessage");

    expect(answer.error).toMatchObject({ error: "error-not-allowed", reason: "Not allowed" });
  });
});
