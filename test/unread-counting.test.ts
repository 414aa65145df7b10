/**
 * What a new message does to the members' subscriptions, with Rocket.Chat's default
 * Unread_Count settings: channels and groups count mentions only, direct messages count
 * every message; every other member is alerted and the room reopens for them; the sender's
 * own subscription is marked read. Each change reaches its user on subscriptions-changed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { Clients, fence } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();
let alice: Person;
let bob: Person;
let carol: Person;

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob, carol] = [await addPerson(server), await addPerson(server), await addPerson(server)];
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

const NOTHING = { unread: 0, userMentions: 0, groupMentions: 0 };

async function channel(): Promise<Room> {
  return addRoom(server, "c", alice, [bob, carol]);
}

async function post(person: Person, rid: string, text: string, extra: object = {}) {
  const res = await api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid, msg: text, ...extra } },
  });
  expect(res.status).toBe(200);
  return res.body.message as { _id: string };
}

async function subscriptionOf(person: Person, rid: string) {
  const res = await api(server, "subscriptions.getOne", {
    auth: person.credentials,
    query: { roomId: rid },
  });
  expect(res.status).toBe(200);
  return res.body.subscription;
}

async function listening(person: Person): Promise<RawDdp> {
  const client = await clients.connect(server);
  await client.resume(person.credentials.authToken);
  await client.sub("stream-notify-user", `${person.user._id}/subscriptions-changed`, false);
  return client;
}

describe("counting in channels", () => {
  test("a plain message alerts the other members without counting as unread", async () => {
    const room = await channel();

    await post(alice, room._id, "hello");

    expect(await subscriptionOf(bob, room._id)).toMatchObject({
      ...NOTHING,
      alert: true,
      open: true,
    });
  });

  test("a mention counts once in unread and userMentions, for the mentioned member only", async () => {
    const room = await channel();

    await post(alice, room._id, `@${bob.user.username} and @${bob.user.username}, look`);

    expect(await subscriptionOf(bob, room._id)).toMatchObject({
      unread: 1,
      userMentions: 1,
      groupMentions: 0,
    });
    expect(await subscriptionOf(carol, room._id)).toMatchObject({ ...NOTHING, alert: true });
  });

  test("@all counts in unread and groupMentions for every other member", async () => {
    const room = await channel();

    await post(alice, room._id, "@all meeting now");

    const counted = { unread: 1, userMentions: 0, groupMentions: 1, alert: true };
    expect(await subscriptionOf(bob, room._id)).toMatchObject(counted);
    expect(await subscriptionOf(carol, room._id)).toMatchObject(counted);
    expect(await subscriptionOf(alice, room._id)).toMatchObject({ ...NOTHING, alert: false });
  });

  test("a mention by name takes priority over @all in the same message", async () => {
    const room = await channel();

    await post(alice, room._id, `@all, and @${bob.user.username} in particular`);

    expect(await subscriptionOf(bob, room._id)).toMatchObject({
      unread: 1,
      userMentions: 1,
      groupMentions: 0,
    });
    expect(await subscriptionOf(carol, room._id)).toMatchObject({ ...NOTHING, alert: true });
  });

  test("sending marks the room read for the sender", async () => {
    const room = await channel();
    await post(bob, room._id, `@${alice.user.username} ping`);

    await post(alice, room._id, "pong");

    const sub = await subscriptionOf(alice, room._id);
    expect(sub).toMatchObject({ ...NOTHING, alert: false, open: true });
  });

  test("a thread reply leaves the room's counters alone", async () => {
    const room = await channel();
    const parent = await post(alice, room._id, "a thread");
    await api(server, "subscriptions.read", { auth: bob.credentials, body: { rid: room._id } });

    await post(alice, room._id, `@${bob.user.username} in the thread`, { tmid: parent._id });

    expect(await subscriptionOf(bob, room._id)).toMatchObject(NOTHING);
  });

  test("a thread reply shown in the room leaves the counters alone too", async () => {
    const room = await channel();
    const parent = await post(alice, room._id, "another thread");
    await api(server, "subscriptions.read", { auth: bob.credentials, body: { rid: room._id } });

    await post(alice, room._id, `@${bob.user.username} also in the room`, {
      tmid: parent._id,
      tshow: true,
    });

    expect(await subscriptionOf(bob, room._id)).toMatchObject(NOTHING);
  });
});

describe("direct messages and hidden rooms", () => {
  test("every message counts as unread for the other member", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);

    await post(alice, dm._id, "one");
    await post(alice, dm._id, "two");

    expect(await subscriptionOf(bob, dm._id)).toMatchObject({ ...NOTHING, unread: 2, alert: true });
  });

  test("a hidden room opens again when a message arrives", async () => {
    const room = await channel();
    const hidden = await api(server, "rooms.hide", {
      auth: carol.credentials,
      body: { roomId: room._id },
    });
    expect(hidden.body).toEqual({ success: true });
    expect(await subscriptionOf(carol, room._id)).toMatchObject({ open: false, alert: false });

    await post(alice, room._id, "are you there?");

    expect(await subscriptionOf(carol, room._id)).toMatchObject({ open: true, alert: true });
  });
});

describe("subscriptions-changed", () => {
  test("the mentioned member is told the new counters", async () => {
    const room = await channel();
    const ddpBob = await listening(bob);

    await post(alice, room._id, `@${bob.user.username} news`);

    const [action, sub] = await ddpBob.streamEvent(
      "stream-notify-user",
      `${bob.user._id}/subscriptions-changed`,
      (args) => (args[1] as { rid: string }).rid === room._id,
    );
    expect(action).toBe("updated");
    expect(sub).toMatchObject({ rid: room._id, unread: 1, userMentions: 1, alert: true });
  });

  test("a member already alerted hears nothing of a message that changes nothing for them", async () => {
    const room = await channel();
    await post(alice, room._id, "first");
    const ddpCarol = await listening(carol);

    await post(alice, room._id, "second");
    await fence(ddpCarol);

    const told = ddpCarol.frames.filter(
      (f) => f.msg === "changed" && JSON.stringify(f).includes(room._id),
    );
    expect(told).toEqual([]);
  });
});
