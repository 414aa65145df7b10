/**
 * `chat.search` over real HTTP and `messageSearch` over a real WebSocket: a search never
 * returns a message of a room the searcher cannot read (a private group or a direct
 * message they are not in), finds what a readable room holds, and speaks the basics of
 * Rocket.Chat's search syntax. The server runs on a clock the tests move, so that dates
 * in searches are known.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { Clients, type SeededUser } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, type TestServer, startTestServer } from "./helpers.ts";

let now = Date.parse("2025-03-10T12:00:00.000Z");
/** Moves the server's clock on by `ms` (a second unless said otherwise). */
function tick(ms = 1000): void {
  now += ms;
}

let server: TestServer;
const clients = new Clients();
let alice: Person;
let bob: Person;
let carol: Person;
let dave: Person;
let channel: Room;
let secret: Room;
let direct: Room;
const sent = {} as Record<"jam" | "bread" | "tart" | "link" | "plans" | "whisper", string>;

async function send(rid: string, msg: string, as: Person): Promise<string> {
  tick();
  const res = await api(server, "chat.sendMessage", {
    auth: as.credentials,
    body: { message: { rid, msg } },
  });
  if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
  return res.body.message._id;
}

beforeAll(async () => {
  server = await startTestServer({ clock: { now: () => new Date(now) } });
  [alice, bob, carol, dave] = [
    await addPerson(server),
    await addPerson(server),
    await addPerson(server),
    await addPerson(server),
  ];
  channel = await addRoom(server, "c", alice, [bob]);
  secret = await addRoom(server, "p", alice, [carol]);
  direct = await server.parley.services.rooms.createDirect(alice.user, [carol.user.username]);
  sent.jam = await send(channel._id, "apricot jam in the open", alice);
  sent.bread = await send(channel._id, "banana bread", bob);
  sent.tart = await send(channel._id, "apricot tart", bob);
  sent.link = await send(channel._id, "see https://example.com/page", alice);
  sent.plans = await send(secret._id, "apricot secret plans", alice);
  sent.whisper = await send(direct._id, "apricot whispers", carol);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** `person` as the DDP helpers log users in. */
function seeded(person: Person): SeededUser {
  const { _id, username } = person.user;
  return { _id, username, password: "rocket.chat", credentials: person.credentials };
}

function search(as: Person, query: Record<string, string>) {
  return api(server, "chat.search", { auth: as.credentials, query });
}

async function found(as: Person, roomId: string, searchText: string): Promise<string[]> {
  const res = await search(as, { roomId, searchText });
  if (res.status !== 200) throw new Error(`search failed: ${JSON.stringify(res.body)}`);
  return res.body.messages.map((m: { _id: string }) => m._id);
}

describe("chat.search and room access", () => {
  test("finds the messages of a channel the searcher is in that hold the word, newest first", async () => {
    const res = await search(bob, { roomId: channel._id, searchText: "apricot" });

    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["messages", "success"]);
    expect(res.body.messages.map((m: { _id: string }) => m._id)).toEqual([sent.tart, sent.jam]);
  });

  test("a private group the searcher is not in answers a bare failure, though its messages match", async () => {
    const res = await search(bob, { roomId: secret._id, searchText: "apricot" });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false });
  });

  test("a direct message the searcher is not in answers a bare failure, though its messages match", async () => {
    const res = await search(bob, { roomId: direct._id, searchText: "apricot" });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false });
  });

  test("a room that does not exist answers as one the searcher cannot read", async () => {
    const missing = await search(bob, { roomId: "NoSuchRoom1234567", searchText: "apricot" });

    expect(missing.status).toBe(400);
    expect(missing.body).toEqual((await search(bob, { roomId: secret._id, searchText: "x" })).body);
  });

  test("a public channel the searcher has not joined can be searched", async () => {
    expect(await found(dave, channel._id, "apricot")).toEqual([sent.tart, sent.jam]);
  });

  test("members of a group and of a direct message find their messages", async () => {
    expect(await found(carol, secret._id, "apricot")).toEqual([sent.plans]);
    expect(await found(carol, direct._id, "apricot")).toEqual([sent.whisper]);
  });

  test("never returns a message hidden as edit history", async () => {
    await server.parley.services.deps.db.messages.insertOne({
      _id: "HiddenSearchMsg01",
      rid: channel._id,
      msg: "apricot old version",
      ts: new Date(now),
      u: { _id: alice.user._id, username: alice.user.username },
      _updatedAt: new Date(now),
      _hidden: true,
    });

    expect(await found(bob, channel._id, "apricot")).toEqual([sent.tart, sent.jam]);
  });
});

describe("chat.search syntax", () => {
  test("from:me keeps the searcher's own messages", async () => {
    expect(await found(bob, channel._id, "from:me apricot")).toEqual([sent.tart]);
  });

  test("from:<username> keeps that user's messages", async () => {
    expect(await found(dave, channel._id, `apricot from:${alice.user.username}`)).toEqual([
      sent.jam,
    ]);
  });

  test("has:url keeps the messages with a link", async () => {
    expect(await found(bob, channel._id, "has:url")).toEqual([sent.link]);
  });

  test("has:star keeps the messages the searcher starred", async () => {
    await server.parley.services.deps.db.messages.updateOne(
      { _id: sent.bread },
      { $set: { starred: [{ _id: bob.user._id }] } },
    );

    expect(await found(bob, channel._id, "has:star")).toEqual([sent.bread]);
    expect(await found(dave, channel._id, "has:star")).toEqual([]);
  });

  test("mention:<username> keeps the messages that mention that user", async () => {
    const id = await send(channel._id, `plums for @${bob.user.username}`, alice);

    expect(await found(dave, channel._id, `mention:${bob.user.username}`)).toEqual([id]);
  });

  test("is:pinned keeps the pinned messages", async () => {
    await server.parley.services.deps.db.messages.updateOne(
      { _id: sent.jam },
      { $set: { pinned: true } },
    );

    expect(await found(bob, channel._id, "is:pinned")).toEqual([sent.jam]);
  });

  test("file-title: keeps the messages with an attachment of that title", async () => {
    tick();
    const res = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { roomId: channel._id, text: "report", attachments: [{ title: "Quarterly figures" }] },
    });

    expect(await found(bob, channel._id, 'file-title:"quarterly figures"')).toEqual([
      res.body.message._id,
    ]);
  });

  test("order:asc lists the oldest first", async () => {
    expect(await found(bob, channel._id, "apricot order:asc")).toEqual([sent.jam, sent.tart]);
  });

  test("on:, before: and after: keep the messages of, before and after a day", async () => {
    const room = await addRoom(server, "c", alice);
    now = Date.parse("2025-03-11T08:00:00.000Z");
    const first = await send(room._id, "diary entry", alice);
    now = Date.parse("2025-03-12T08:00:00.000Z");
    const second = await send(room._id, "diary entry", alice);

    expect(await found(alice, room._id, "diary on:11/03/2025")).toEqual([first]);
    expect(await found(alice, room._id, "diary before:12/03/2025")).toEqual([first]);
    expect(await found(alice, room._id, "diary after:11/03/2025")).toEqual([second]);
  });

  test("words in Chinese, Japanese or Korean match inside longer text", async () => {
    const id = await send(channel._id, "今日は会議があります", alice);

    expect(await found(bob, channel._id, "会議")).toEqual([id]);
  });

  test("text that asks for nothing finds nothing", async () => {
    expect(await found(bob, channel._id, "   ")).toEqual([]);
  });
});

describe("chat.search parameters", () => {
  test("pages with count and offset", async () => {
    const room = await addRoom(server, "c", alice);
    for (let i = 0; i < 5; i++) await send(room._id, "msg1", alice);

    const one = await search(alice, { roomId: room._id, searchText: "msg1", count: "1" });
    const three = await search(alice, {
      roomId: room._id,
      searchText: "msg1",
      offset: "1",
      count: "3",
    });
    const none = await search(alice, { roomId: room._id, searchText: "msg1", offset: "9999" });

    expect([one, three, none].map((r) => r.body.messages.length)).toEqual([1, 3, 0]);
  });

  test("requires roomId and searchText", async () => {
    const noRoom = await search(bob, { searchText: "apricot" });
    const noText = await search(bob, { roomId: channel._id });
    const emptyRoom = await search(bob, { roomId: "", searchText: "apricot" });

    expect(noRoom.body.error).toBe("must have required property 'roomId' [invalid-params]");
    expect(noText.body.error).toBe("must have required property 'searchText' [invalid-params]");
    expect(emptyRoom.body).toEqual({
      success: false,
      error: 'The required "roomId" query param is missing. [error-roomId-param-not-provided]',
      errorType: "error-roomId-param-not-provided",
    });
  });
});

describe("messageSearch over DDP", () => {
  test("answers the matches as Rocket.Chat's search provider does", async () => {
    const ddp = await clients.connect(server, seeded(bob));

    const answer = await ddp.call("messageSearch", "apricot", channel._id, 10);

    const docs = (answer.result as { message: { docs: { _id: string }[] } }).message.docs;
    expect(docs.map((m) => m._id)).toEqual([sent.tart, sent.jam]);
  });

  test("answers false for a group the caller is not in", async () => {
    const ddp = await clients.connect(server, seeded(bob));

    const answer = await ddp.call("messageSearch", "apricot", secret._id);

    expect(answer).toEqual({ msg: "result", id: answer.id, result: false });
  });

  test("answers no messages without a room", async () => {
    const ddp = await clients.connect(server, seeded(carol));

    const answer = await ddp.call("messageSearch", "apricot");

    expect(answer.result).toEqual({ message: { docs: [] } });
  });
});
