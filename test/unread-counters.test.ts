/**
 * `channels.counters`, `groups.counters` and `im.counters` (`dm.counters`): a member's
 * unread and mention counters with the room's totals, and Rocket.Chat's answers for
 * hidden rooms, other users' counters and rooms that do not fit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, type Credentials, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let alice: Person;
let bob: Person;
let carol: Person;

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob, carol] = [await addPerson(server), await addPerson(server), await addPerson(server)];
});

afterAll(() => server.stop());

async function post(person: Person, rid: string, text: string): Promise<{ ts: string }> {
  const res = await api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid, msg: text } },
  });
  expect(res.status).toBe(200);
  return res.body.message;
}

function counters(auth: Credentials, path: string, query: Record<string, string>) {
  return api(server, path, { auth, query });
}

async function lastSeen(person: Person, rid: string): Promise<string> {
  const res = await api(server, "subscriptions.getOne", {
    auth: person.credentials,
    query: { roomId: rid },
  });
  return res.body.subscription.ls;
}

/** A room of `type` where bob has read, then alice posted twice, mentioning bob once. */
async function roomWithNews(type: "c" | "p"): Promise<{ room: Room; latest: string }> {
  const room = await addRoom(server, type, alice, [bob]);
  await api(server, "subscriptions.read", { auth: bob.credentials, body: { rid: room._id } });
  await post(alice, room._id, "plain news");
  const last = await post(alice, room._id, `@${bob.user.username} news for you`);
  return { room, latest: last.ts };
}

describe("channels.counters", () => {
  test("answers the caller's counters and the channel's totals", async () => {
    const { room, latest } = await roomWithNews("c");

    const res = await counters(bob.credentials, "channels.counters", { roomId: room._id });

    expect(res.body).toEqual({
      success: true,
      joined: true,
      members: 2,
      unreads: 2,
      unreadsFrom: await lastSeen(bob, room._id),
      msgs: 2,
      latest,
      userMentions: 1,
    });
  });

  test("answers a hidden channel as not joined, with nothing counted", async () => {
    const { room } = await roomWithNews("c");
    await api(server, "rooms.hide", { auth: bob.credentials, body: { roomId: room._id } });

    const res = await counters(bob.credentials, "channels.counters", { roomName: room.name ?? "" });

    expect(res.body).toEqual({
      success: true,
      joined: false,
      members: null,
      unreads: null,
      unreadsFrom: null,
      msgs: null,
      latest: null,
      userMentions: null,
    });
  });

  test("answers another user's counters to an administrator", async () => {
    const { room } = await roomWithNews("c");

    const res = await counters(server.admin, "channels.counters", {
      roomId: room._id,
      userId: bob.user._id,
    });

    expect(res.body).toMatchObject({ success: true, joined: true, unreads: 2, userMentions: 1 });
  });

  test("refuses another user's counters to anyone else with the bare 403", async () => {
    const { room } = await roomWithNews("c");

    const res = await counters(carol.credentials, "channels.counters", {
      roomId: room._id,
      userId: bob.user._id,
    });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("answers error-room-not-found for a private group", async () => {
    const { room } = await roomWithNews("p");

    const res = await counters(bob.credentials, "channels.counters", { roomId: room._id });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-room-not-found" });
  });
});

describe("groups.counters", () => {
  test("answers a member's counters", async () => {
    const { room, latest } = await roomWithNews("p");

    const res = await counters(bob.credentials, "groups.counters", { roomId: room._id });

    expect(res.body).toMatchObject({ success: true, joined: true, unreads: 2, latest });
  });

  test("answers a group the caller cannot read as one that does not exist", async () => {
    const { room } = await roomWithNews("p");

    const res = await counters(carol.credentials, "groups.counters", { roomId: room._id });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        'The required "roomId" or "roomName" param provided does not match any group [error-room-not-found]',
      errorType: "error-room-not-found",
    });
  });

  test("refuses an empty room parameter", async () => {
    const res = await counters(bob.credentials, "groups.counters", { roomId: "" });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-room-param-not-provided" });
  });
});

describe("im.counters", () => {
  test("answers the subscription's own unread counter in a direct message", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);
    await post(alice, dm._id, "one");
    const last = await post(alice, dm._id, "two");

    const res = await counters(bob.credentials, "im.counters", { roomId: dm._id });
    const alias = await counters(bob.credentials, "dm.counters", { roomId: dm._id });

    const expected = {
      success: true,
      joined: true,
      members: 2,
      unreads: 2,
      unreadsFrom: await lastSeen(bob, dm._id),
      msgs: 2,
      latest: last.ts,
      userMentions: 0,
    };
    expect(res.body).toEqual(expected);
    expect(alias.body).toEqual(expected);
  });

  test("requires roomId", async () => {
    const res = await counters(bob.credentials, "im.counters", {});

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: 'Query param "roomId" is required [error-room-param-not-provided]',
      errorType: "error-room-param-not-provided",
    });
  });

  test("refuses a direct message of other users with the bare 403", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);

    const res = await counters(carol.credentials, "im.counters", { roomId: dm._id });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("answers error-room-not-found for a room that is not a direct message", async () => {
    const { room } = await roomWithNews("c");

    const res = await counters(bob.credentials, "im.counters", { roomId: room._id });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      success: false,
      error:
        'The required "roomId" param provided does not match any direct message [error-room-not-found]',
    });
  });
});
