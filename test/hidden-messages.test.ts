/**
 * Messages kept hidden by Message_KeepHistory (a deleted message, an old version of an
 * edited one) answer as missing wherever a client names a message by id: starting a
 * discussion from it, replying in its thread, reading its thread, following it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { Switches } from "./fixtures/switches.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
let owner: Person;
let member: Person;
let channel: Room;

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  owner = await addPerson(server);
  member = await addPerson(server);
  channel = await addRoom(server, "c", owner, [member]);
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  await server.stop();
});

async function send(text: string, tmid?: string): Promise<{ _id: string }> {
  const res = await api(server, "chat.sendMessage", {
    auth: member.credentials,
    body: { message: { rid: channel._id, msg: text, ...(tmid && { tmid }) } },
  });
  expect(res.status).toBe(200);
  return res.body.message;
}

/** A message deleted while history is kept: it stays in the store, hidden. */
async function deletedMessage(text: string): Promise<string> {
  const sent = await send(text);
  await switches.setting("Message_KeepHistory", true);
  const res = await api(server, "chat.delete", {
    auth: member.credentials,
    body: { roomId: channel._id, msgId: sent._id },
  });
  expect(res.status).toBe(200);
  const kept = await server.parley.services.deps.db.messages.findOne({ _id: sent._id });
  expect(kept).toMatchObject({ _hidden: true, msg: text });
  return sent._id;
}

/** The hidden copy that keeps a message's text from before an edit. */
async function oldVersion(text: string): Promise<string> {
  const sent = await send(text);
  await switches.setting("Message_KeepHistory", true);
  const res = await api(server, "chat.update", {
    auth: member.credentials,
    body: { roomId: channel._id, msgId: sent._id, text: "edited" },
  });
  expect(res.status).toBe(200);
  const [copy] = await server.parley.services.deps.db.messages.find({ parent: sent._id });
  expect(copy).toMatchObject({ _hidden: true, msg: text });
  return copy?._id as string;
}

function startDiscussion(pmid: string) {
  return api(server, "rooms.createDiscussion", {
    auth: member.credentials,
    body: { prid: channel._id, t_name: "From a hidden message", pmid },
  });
}

const INVALID_MESSAGE = {
  success: false,
  error: "Invalid message [error-invalid-message]",
  errorType: "error-invalid-message",
  details: { method: "DiscussionCreation" },
};

describe("rooms.createDiscussion", () => {
  test("refuses to start from a deleted message and quotes nothing of it", async () => {
    const pmid = await deletedMessage("deleted secret");

    const res = await startDiscussion(pmid);

    expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: INVALID_MESSAGE });
    const made = await server.parley.services.deps.db.rooms.find({ pmid });
    expect(made).toEqual([]);
  });

  test("refuses to start from the old version of an edited message", async () => {
    const pmid = await oldVersion("said before the edit");

    const res = await startDiscussion(pmid);

    expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: INVALID_MESSAGE });
  });
});

describe("threads of a hidden message", () => {
  test("a reply to a deleted message is refused", async () => {
    const tmid = await deletedMessage("no longer a thread");

    const res = await api(server, "chat.postMessage", {
      auth: member.credentials,
      body: { roomId: channel._id, text: "late reply", tmid },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-invalid-message" });
  });

  test("a reply to the old version of an edited message is refused", async () => {
    const tmid = await oldVersion("version before");

    const res = await api(server, "chat.postMessage", {
      auth: member.credentials,
      body: { roomId: channel._id, text: "reply to history", tmid },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-invalid-message" });
  });

  test("the replies of a deleted thread parent cannot be read by its id", async () => {
    const parent = await send("thread to delete");
    await send("a reply", parent._id);
    await switches.setting("Message_KeepHistory", true);
    await api(server, "chat.delete", {
      auth: member.credentials,
      body: { roomId: channel._id, msgId: parent._id },
    });

    const res = await api(server, "chat.getThreadMessages", {
      auth: member.credentials,
      query: { tmid: parent._id },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-invalid-message" });
  });

  test("a deleted message cannot be followed", async () => {
    const mid = await deletedMessage("do not follow me");

    const res = await api(server, "chat.followMessage", {
      auth: owner.credentials,
      body: { mid },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-invalid-message" });
  });
});
