/**
 * What `chat.*` reveals and allows across rooms: a reply's parent must be a message of
 * the same room, messages of rooms the caller cannot read answer as messages that do not
 * exist, and a member removed from a group can no longer change what they wrote there.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";

let server: TestServer;
let alice: Person;
let bob: Person;
let channel: Room;
let secret: Room;
let secretMessageId: string;

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob] = [await addPerson(server), await addPerson(server)];
  channel = await addRoom(server, "c", bob);
  secret = await addRoom(server, "p", alice);
  secretMessageId = (await send(alice, { rid: secret._id, msg: "between us" })).body.message._id;
});

afterAll(() => server.stop());

function send(person: Person, message: Record<string, unknown>) {
  return api(server, "chat.sendMessage", { auth: person.credentials, body: { message } });
}

function invalidThread(tmid: string) {
  return {
    success: false,
    error: "Invalid Message [error-invalid-message]",
    errorType: "error-invalid-message",
    details: { method: "sendMessage", tmid },
  };
}

describe("threads", () => {
  test("a reply to a message that does not exist is refused", async () => {
    const res = await send(bob, { rid: channel._id, msg: "re", tmid: "NoSuchMessage1234" });

    expect(res.status).toBe(400);
    expect(res.body).toEqual(invalidThread("NoSuchMessage1234"));
  });

  test("a reply to a message of a group the sender cannot read answers as for a missing one", async () => {
    const res = await send(bob, { rid: channel._id, msg: "re", tmid: secretMessageId });

    expect(res.status).toBe(400);
    expect(res.body).toEqual(invalidThread(secretMessageId));
  });

  test("a reply without rid to an unreadable message answers as one to a missing message", async () => {
    const missing = await send(bob, { msg: "re", tmid: "NoSuchMessage1234" });

    const unreadable = await send(bob, { msg: "re", tmid: secretMessageId });

    expect(unreadable.status).toBe(400);
    expect(unreadable.body).toEqual(missing.body);
  });

  test("chat.postMessage refuses a reply to a message of another room", async () => {
    const other = await addRoom(server, "c", bob);
    const parent = (await send(bob, { rid: other._id, msg: "elsewhere" })).body.message._id;

    const res = await api(server, "chat.postMessage", {
      auth: bob.credentials,
      body: { roomId: channel._id, text: "re", tmid: parent },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual(invalidThread(parent));
  });

  test("a reply to a reply joins the first message's thread", async () => {
    const root = (await send(bob, { rid: channel._id, msg: "root" })).body.message._id;
    const reply = (await send(bob, { rid: channel._id, msg: "reply", tmid: root })).body.message;

    const res = await send(bob, { rid: channel._id, msg: "reply to reply", tmid: reply._id });

    expect(res.status).toBe(200);
    expect(res.body.message.tmid).toBe(root);
  });
});

describe("client-chosen ids", () => {
  test("an _id taken in a group the sender cannot read answers like any duplicate", async () => {
    const own = (await send(bob, { rid: channel._id, msg: "mine" })).body.message._id;
    const ownDuplicate = await send(bob, { _id: own, rid: channel._id, msg: "again" });

    const foreignDuplicate = await send(bob, { _id: secretMessageId, rid: channel._id, msg: "x" });

    expect(foreignDuplicate.status).toBe(400);
    expect(foreignDuplicate.body).toEqual(ownDuplicate.body);
  });
});

describe("after removal from a group", () => {
  test("a removed member cannot delete their old message there", async () => {
    const group = await addRoom(server, "p", alice, [bob]);
    const sent = (await send(bob, { rid: group._id, msg: "before" })).body.message._id;
    const kick = await api(server, "groups.kick", {
      auth: alice.credentials,
      body: { roomId: group._id, userId: bob.user._id },
    });
    expect(kick.status).toBe(200);

    const res = await api(server, "chat.delete", {
      auth: bob.credentials,
      body: { roomId: group._id, msgId: sent },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "deleteMessage" },
    });
  });
});
