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

async function subscriptionOf(person: Person, rid: string) {
  const res = await api(server, "subscriptions.getOne", {
    auth: person.credentials,
    query: { roomId: rid },
  });
  expect(res.status).toBe(200);
  return res.body.subscription;
}

async function post(person: Person, rid: string, text: string) {
  const res = await api(server, "chat.postMessage", {
    auth: person.credentials,
    body: { roomId: rid, text },
  });
  expect(res.status).toBe(200);
}

describe("subscriptions.getOne", () => {
  test("returns the caller's subscription with its counters", async () => {
    const sub = await subscriptionOf(bob, group._id);

    expect(sub).toEqual({
      _id: expect.any(String),
      rid: group._id,
      u: { _id: bob.user._id, username: bob.user.username, name: bob.user.name },
      name: group.name,
      fname: group.name,
      t: "p",
      ts: ISO,
      ls: ISO,
      _updatedAt: ISO,
      open: true,
      alert: false,
      unread: 0,
      userMentions: 0,
      groupMentions: 0,
    });
  });

  test("answers null for a room the caller has not joined", async () => {
    expect(await subscriptionOf(carol, group._id)).toBeNull();
  });

  test("answers invalid-params naming roomId when it is missing", async () => {
    const res = await api(server, "subscriptions.getOne", { auth: alice.credentials });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'roomId' [invalid-params]",
      errorType: "invalid-params",
    });
  });

  test("answers 401 without credentials", async () => {
    const res = await api(server, "subscriptions.getOne", { query: { roomId: channel._id } });

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      success: false,
      status: "error",
      message: "You must be logged in to do this.",
    });
  });
});

describe("unread counters", () => {
  test("a mentioned member's unread count grows with each mention and the sender's does not", async () => {
    await post(alice, channel._id, `one for @${bob.user.username}`);
    await post(alice, channel._id, `two for @${bob.user.username}`);

    expect(await subscriptionOf(bob, channel._id)).toMatchObject({ unread: 2, alert: true });
    expect(await subscriptionOf(alice, channel._id)).toMatchObject({ unread: 0, alert: false });
  });

  test("subscriptions.read clears the reader's unread count", async () => {
    await post(alice, group._id, `read me, @${bob.user.username}`);

    const res = await api(server, "subscriptions.read", {
      auth: bob.credentials,
      body: { rid: group._id },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect(await subscriptionOf(bob, group._id)).toMatchObject({
      unread: 0,
      alert: false,
      userMentions: 0,
      ls: ISO,
    });
  });

  test("subscriptions.read also takes the room as roomId", async () => {
    await post(alice, channel._id, "again");

    const res = await api(server, "subscriptions.read", {
      auth: bob.credentials,
      body: { roomId: channel._id },
    });

    expect(res.body).toEqual({ success: true });
    expect(await subscriptionOf(bob, channel._id)).toMatchObject({ unread: 0 });
  });
});

describe("subscriptions.read errors", () => {
  test("answers error-invalid-subscription for a room that does not exist", async () => {
    const res = await api(server, "subscriptions.read", {
      auth: bob.credentials,
      body: { rid: "foobar123-somechannel" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "error-invalid-subscription" });
  });

  test("answers error-invalid-subscription for a room the caller has not joined", async () => {
    const res = await api(server, "subscriptions.read", {
      auth: carol.credentials,
      body: { rid: group._id },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "error-invalid-subscription" });
  });

  test("refuses rid and roomId together", async () => {
    const res = await api(server, "subscriptions.read", {
      auth: bob.credentials,
      body: { rid: group._id, roomId: channel._id },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });

  test("refuses a body naming no room", async () => {
    const res = await api(server, "subscriptions.read", { auth: bob.credentials, body: {} });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });

  test("rejects a non-string rid, such as an operator object, with 400", async () => {
    const res = await api(server, "subscriptions.read", {
      auth: bob.credentials,
      body: { rid: { $ne: null } },
    });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "invalid-params" });
  });
});

describe("subscriptions.get", () => {
  test("returns all of the caller's subscriptions as update, with nothing removed", async () => {
    const res = await api(server, "subscriptions.get", { auth: bob.credentials });

    expect(res.status).toBe(200);
    expect(res.body.remove).toEqual([]);
    expect(res.body.update.map((s: { rid: string }) => s.rid).sort()).toEqual(
      [channel._id, group._id].sort(),
    );
  });

  test("returns nothing changed since a date in the future", async () => {
    const future = new Date(Date.now() + 60_000).toISOString();

    const res = await api(server, "subscriptions.get", {
      auth: bob.credentials,
      query: { updatedSince: future },
    });

    expect(res.body).toEqual({ success: true, update: [], remove: [] });
  });

  test("refuses an updatedSince that is not a date", async () => {
    const res = await api(server, "subscriptions.get", {
      auth: bob.credentials,
      query: { updatedSince: "yesterday-ish" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: 'The "lastUpdate" query parameter must be a valid date. [error-roomId-param-invalid]',
      errorType: "error-roomId-param-invalid",
    });
  });
});
