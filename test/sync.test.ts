/**
 * `chat.syncMessages` and `chat.getDeletedMessages` over real HTTP: exactly the messages
 * changed and deleted after a date, in both of Rocket.Chat's forms (since `lastUpdate`,
 * or a page after or before a cursor), the trash record a deletion leaves, and no answer
 * about a room the caller may not read. The server runs on a clock the tests move.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let now = Date.parse("2025-03-01T09:00:00.000Z");
/** Moves the server's clock on by a second and answers the new time. */
function tick(): Date {
  now += 1000;
  return new Date(now);
}

let server: TestServer;
let alice: Person;
let bob: Person;
let channel: Room;
let secret: Room;

beforeAll(async () => {
  server = await startTestServer({ clock: { now: () => new Date(now) } });
  [alice, bob] = [await addPerson(server), await addPerson(server)];
  channel = await addRoom(server, "c", alice, [bob]);
  secret = await addRoom(server, "p", alice);
});

afterAll(() => server.stop());

async function send(
  rid: string,
  msg: string,
  as = alice,
): Promise<{ _id: string; _updatedAt: string }> {
  tick();
  const res = await api(server, "chat.sendMessage", {
    auth: as.credentials,
    body: { message: { rid, msg } },
  });
  return res.body.message;
}

async function remove(rid: string, msgId: string): Promise<void> {
  tick();
  await api(server, "chat.delete", { auth: alice.credentials, body: { roomId: rid, msgId } });
}

function sync(query: Record<string, string>, as = alice) {
  return api(server, "chat.syncMessages", { auth: as.credentials, query });
}

const ids = (docs: { _id: string }[]) => docs.map((d) => d._id);

describe("chat.syncMessages since lastUpdate", () => {
  test("answers exactly the messages changed and deleted after the date, newest first", async () => {
    const room = await addRoom(server, "c", alice);
    const edited = await send(room._id, "to be edited");
    const deleted = await send(room._id, "to be deleted");
    await send(room._id, "left alone");
    const since = tick();
    const fresh = await send(room._id, "sent after");
    tick();
    await api(server, "chat.update", {
      auth: alice.credentials,
      body: { roomId: room._id, msgId: edited._id, text: "edited after" },
    });
    await remove(room._id, deleted._id);

    const res = await sync({ roomId: room._id, lastUpdate: since.toISOString() });

    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["result", "success"]);
    expect(ids(res.body.result.updated)).toEqual([fresh._id, edited._id]);
    expect(res.body.result.updated[1].msg).toBe("edited after");
    expect(res.body.result.deleted).toEqual([
      { _id: deleted._id, _deletedAt: new Date(now).toISOString() },
    ]);
    expect(res.body.result.cursor).toBeUndefined();
  });

  test("answers nothing for a date after the last change", async () => {
    await send(channel._id, "before the date");

    const res = await sync({ roomId: channel._id, lastUpdate: tick().toISOString() });

    expect(res.body).toEqual({ result: { updated: [], deleted: [] }, success: true });
  });

  test("leaves out messages hidden as edit history", async () => {
    const since = tick();
    const shown = await send(channel._id, "shown");
    await server.parley.services.deps.db.messages.insertOne({
      _id: "HiddenSyncMsg0001",
      rid: channel._id,
      msg: "old version",
      ts: tick(),
      u: { _id: alice.user._id, username: alice.user.username },
      _updatedAt: new Date(now),
      _hidden: true,
    });

    const res = await sync({ roomId: channel._id, lastUpdate: since.toISOString() });

    expect(ids(res.body.result.updated)).toEqual([shown._id]);
  });
});

describe("chat.syncMessages with a cursor", () => {
  test("pages updates after a cursor oldest first, with the cursors around each page", async () => {
    const room = await addRoom(server, "c", alice);
    const start = tick();
    const sent = [
      await send(room._id, "one"),
      await send(room._id, "two"),
      await send(room._id, "three"),
    ] as const;
    const stamp = (m: { _updatedAt: string }) => String(Date.parse(m._updatedAt));

    const first = await sync({
      roomId: room._id,
      type: "UPDATED",
      count: "2",
      next: String(start.getTime()),
    });
    const second = await sync({
      roomId: room._id,
      type: "UPDATED",
      count: "2",
      next: first.body.result.cursor.next,
    });

    expect(ids(first.body.result.updated)).toEqual([sent[0]._id, sent[1]._id]);
    expect(first.body.result.cursor).toEqual({ next: stamp(sent[1]), previous: stamp(sent[0]) });
    expect(ids(second.body.result.updated)).toEqual([sent[2]._id]);
    expect(second.body.result.cursor).toEqual({ next: null, previous: stamp(sent[2]) });
  });

  test("pages updates before a cursor newest first", async () => {
    const room = await addRoom(server, "c", alice);
    const sent = [
      await send(room._id, "one"),
      await send(room._id, "two"),
      await send(room._id, "three"),
    ] as const;
    const end = tick();

    const res = await sync({
      roomId: room._id,
      type: "UPDATED",
      count: "2",
      previous: String(end.getTime()),
    });

    expect(ids(res.body.result.updated)).toEqual([sent[2]._id, sent[1]._id]);
    expect(res.body.result.cursor).toEqual({
      next: String(Date.parse(sent[2]._updatedAt)),
      previous: String(Date.parse(sent[1]._updatedAt)),
    });
  });

  test("pages deletions after a cursor in the order they happened", async () => {
    const room = await addRoom(server, "c", alice);
    const start = tick();
    const sent = [
      await send(room._id, "one"),
      await send(room._id, "two"),
      await send(room._id, "three"),
    ] as const;
    const before = await sync({
      roomId: room._id,
      type: "DELETED",
      count: "2",
      next: String(start.getTime()),
    });
    for (const m of sent) await remove(room._id, m._id);

    const first = await sync({
      roomId: room._id,
      type: "DELETED",
      count: "2",
      next: String(start.getTime()),
    });
    const second = await sync({
      roomId: room._id,
      type: "DELETED",
      count: "2",
      next: first.body.result.cursor.next,
    });

    expect(before.body.result).toEqual({
      updated: [],
      deleted: [],
      cursor: { next: null, previous: null },
    });
    expect(ids(first.body.result.deleted)).toEqual([sent[0]._id, sent[1]._id]);
    expect(first.body.result.updated).toEqual([]);
    expect(ids(second.body.result.deleted)).toEqual([sent[2]._id]);
    expect(second.body.result.cursor.next).toBeNull();
  });
});

describe("chat.syncMessages refusals", () => {
  test("a user outside a private group cannot sync it", async () => {
    await send(secret._id, "between us");

    const res = await sync({ roomId: secret._id, lastUpdate: new Date(0).toISOString() }, bob);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "messages/get" },
    });
  });

  test("answers Rocket.Chat's errors for missing, malformed and conflicting parameters", async () => {
    const roomId = channel._id;
    const cases: [Record<string, string>, string, string][] = [
      [{}, "invalid-params", "must have required property 'roomId' [invalid-params]"],
      [
        { roomId },
        "error-param-required",
        'The "type" or "lastUpdate" parameters must be provided [error-param-required]',
      ],
      [
        { roomId, next: "1" },
        "error-param-required",
        'The "type" or "lastUpdate" parameters must be provided [error-param-required]',
      ],
      [
        { roomId, lastUpdate: "not a date" },
        "error-lastUpdate-param-invalid",
        'The "lastUpdate" query parameter must be a valid date [error-lastUpdate-param-invalid]',
      ],
      [
        { roomId, type: "SOMETHING", next: "1" },
        "invalid-params",
        "must be equal to one of the allowed values [invalid-params]",
      ],
      [
        { roomId, type: "UPDATED", next: "1", previous: "2" },
        "error-cursor-conflict",
        'You cannot provide both "next" and "previous" parameters [error-cursor-conflict]',
      ],
      [
        { roomId, type: "UPDATED", next: "1", lastUpdate: new Date().toISOString() },
        "error-cursor-and-lastUpdate-conflict",
        'The attributes "next", "previous" and "lastUpdate" cannot be used together [error-cursor-and-lastUpdate-conflict]',
      ],
    ];

    const answers = await Promise.all(cases.map(([query]) => sync(query)));

    expect(answers.map((a) => [a.status, a.body.errorType, a.body.error])).toEqual(
      cases.map(([, errorType, error]) => [400, errorType, error]),
    );
  });
});

describe("chat.getDeletedMessages", () => {
  test("pages the ids of the messages deleted after the date, with the total", async () => {
    const room = await addRoom(server, "c", alice);
    const early = await send(room._id, "deleted early");
    await remove(room._id, early._id);
    const since = tick();
    const sent = [await send(room._id, "one"), await send(room._id, "two")] as const;
    for (const m of sent) await remove(room._id, m._id);

    const res = await api(server, "chat.getDeletedMessages", {
      auth: alice.credentials,
      query: { roomId: room._id, since: since.toISOString(), count: "1", offset: "1" },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      messages: [{ _id: sent[1]._id }],
      count: 1,
      offset: 1,
      total: 2,
      success: true,
    });
  });

  test("refuses a room the caller may not read", async () => {
    const res = await api(server, "chat.getDeletedMessages", {
      auth: bob.credentials,
      query: { roomId: secret._id, since: new Date(0).toISOString() },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("error-not-allowed");
  });

  test("refuses a since that is not an ISO date and time", async () => {
    const res = await api(server, "chat.getDeletedMessages", {
      auth: alice.credentials,
      query: { roomId: channel._id, since: "InvalidaDate" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: 'must match format "iso-date-time" [invalid-params]',
      errorType: "invalid-params",
    });
  });
});

describe("the trash", () => {
  test("keeps a deleted message whole, with its collection and time of deletion", async () => {
    const message = await send(channel._id, "keep me in the trash");
    const stored = await server.parley.services.deps.db.messages.findOne({ _id: message._id });
    await remove(channel._id, message._id);

    const record = await server.parley.services.deps.db.trash.findOne({ _id: message._id });

    expect(record).toEqual({
      ...stored,
      __collection__: "message",
      _deletedAt: new Date(now),
    } as never);
  });
});
