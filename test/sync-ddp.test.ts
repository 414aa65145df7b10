/**
 * The DDP methods that page through a room's history around a point, over a real
 * WebSocket: `loadMissedMessages`, `loadNextMessages` and `loadSurroundingMessages`, with
 * Rocket.Chat's answers, its refusals for rooms the caller cannot read, and no message
 * hidden as edit history. The server runs on a clock the tests move, so that every
 * message has a known, distinct time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Message, Room } from "../core/models.ts";
import { Clients, type SeededUser } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let now = Date.parse("2025-04-01T10:00:00.000Z");

let server: TestServer;
const clients = new Clients();
let alice: Person;
let bob: Person;
let channel: Room;
let secret: Room;
let secretMessage: Message;
/** Five messages of `channel`, oldest first. */
const sent: Message[] = [];
let ddp: RawDdp;

async function send(rid: string, msg: string): Promise<Message> {
  now += 1000;
  const res = await api(server, "chat.sendMessage", {
    auth: alice.credentials,
    body: { message: { rid, msg } },
  });
  const { _id } = res.body.message;
  return (await server.parley.services.deps.db.messages.findOne({ _id })) as Message;
}

function seeded(person: Person): SeededUser {
  const { _id, username } = person.user;
  return { _id, username, password: "rocket.chat", credentials: person.credentials };
}

beforeAll(async () => {
  server = await startTestServer({ clock: { now: () => new Date(now) } });
  [alice, bob] = [await addPerson(server), await addPerson(server)];
  channel = await addRoom(server, "c", alice);
  secret = await addRoom(server, "p", alice);
  for (const text of ["one", "two", "three", "four", "five"])
    sent.push(await send(channel._id, text));
  secretMessage = await send(secret._id, "between us");
  ddp = await clients.connect(server, seeded(bob));
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

const ids = (messages: unknown) => (messages as { _id: string }[]).map((m) => m._id);
const idsOf = (...indexes: number[]) => indexes.map((i) => (sent[i] as Message)._id);
const at = (i: number) => (sent[i] as Message).ts;

describe("loadMissedMessages", () => {
  test("answers every message after the time, newest first", async () => {
    const answer = await ddp.call("loadMissedMessages", channel._id, at(1));

    expect(ids(answer.result)).toEqual(idsOf(4, 3, 2));
  });

  test("answers false for a group the caller is not in", async () => {
    const answer = await ddp.call("loadMissedMessages", secret._id, new Date(0));

    expect(answer).toEqual({ msg: "result", id: answer.id, result: false });
  });

  test("refuses a start that is not a date", async () => {
    const answer = await ddp.call("loadMissedMessages", channel._id, "yesterday");

    expect(answer.error).toMatchObject({ error: 400, reason: "Match failed" });
  });
});

describe("loadNextMessages", () => {
  test("answers a page of the messages after the time, oldest first", async () => {
    const answer = await ddp.call("loadNextMessages", channel._id, at(0), 2);

    expect(Object.keys(answer.result as object)).toEqual(["messages"]);
    expect(ids((answer.result as { messages: unknown }).messages)).toEqual(idsOf(1, 2));
  });

  test("starts from the room's first message without a time", async () => {
    const answer = await ddp.call("loadNextMessages", channel._id, null, 2);

    expect(ids((answer.result as { messages: unknown }).messages)).toEqual(idsOf(0, 1));
  });

  test("refuses a group the caller is not in", async () => {
    const answer = await ddp.call("loadNextMessages", secret._id, null, 20);

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: "error-not-allowed",
      reason: "Not allowed",
      message: "Not allowed [error-not-allowed]",
      errorType: "Meteor.Error",
      details: { method: "loadNextMessages" },
    });
  });
});

describe("loadSurroundingMessages", () => {
  test("answers the earlier half nearest first, the message, the later half, and what lies beyond", async () => {
    const narrow = await ddp.call("loadSurroundingMessages", { _id: idsOf(2)[0] }, 3);
    const wide = await ddp.call("loadSurroundingMessages", { _id: idsOf(2)[0] }, 5);

    const shape = (r: unknown) => {
      const { messages, moreBefore, moreAfter } = r as Record<string, unknown>;
      return { messages: ids(messages), moreBefore, moreAfter };
    };
    expect(shape(narrow.result)).toEqual({
      messages: idsOf(1, 2, 3),
      moreBefore: true,
      moreAfter: true,
    });
    expect(shape(wide.result)).toEqual({
      messages: idsOf(1, 0, 2, 3, 4),
      moreBefore: false,
      moreAfter: false,
    });
  });

  test("answers false for a message of a group the caller is not in", async () => {
    const answer = await ddp.call("loadSurroundingMessages", { _id: secretMessage._id }, 5);

    expect(answer.result).toBe(false);
  });

  test("answers false for an id that is not a string, rather than matching any message", async () => {
    const answer = await ddp.call("loadSurroundingMessages", { _id: { $ne: null } }, 5);

    expect(answer.result).toBe(false);
  });
});

describe("messages hidden as edit history", () => {
  test("no load method shows them, nor answers around them", async () => {
    const room = await addRoom(server, "c", alice);
    const shown = await send(room._id, "current version");
    await server.parley.services.deps.db.messages.insertOne({
      ...shown,
      _id: "HiddenLoadMsg0001",
      ts: new Date(shown.ts.getTime() + 1),
      _hidden: true,
      parent: shown._id,
    });

    const missed = await ddp.call("loadMissedMessages", room._id, new Date(0));
    const next = await ddp.call("loadNextMessages", room._id, null, 20);
    const around = await ddp.call("loadSurroundingMessages", { _id: shown._id }, 5);
    const hidden = await ddp.call("loadSurroundingMessages", { _id: "HiddenLoadMsg0001" }, 5);

    expect(ids(missed.result)).toEqual([shown._id]);
    expect(ids((next.result as { messages: unknown }).messages)).toEqual([shown._id]);
    expect(ids((around.result as { messages: unknown }).messages)).toEqual([shown._id]);
    expect(hidden.result).toBe(false);
  });
});
