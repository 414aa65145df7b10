/**
 * Marking rooms read and unread: `subscriptions.read` (with `readThreads`) and DDP
 * `readMessages`, the `<rid>/messagesRead` event once everyone has read, and
 * `subscriptions.unread` / DDP `unreadMessages` with Rocket.Chat's answers and errors.
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

async function post(
  person: Person,
  rid: string,
  text: string,
): Promise<{ _id: string; ts: string }> {
  const res = await api(server, "chat.sendMessage", {
    auth: person.credentials,
    body: { message: { rid, msg: text } },
  });
  expect(res.status).toBe(200);
  return res.body.message;
}

async function subscriptionOf(person: Person, rid: string) {
  const res = await api(server, "subscriptions.getOne", {
    auth: person.credentials,
    query: { roomId: rid },
  });
  return res.body.subscription;
}

function call(person: Person, path: string, body: unknown) {
  return api(server, path, { auth: person.credentials, body });
}

async function ddp(person: Person): Promise<RawDdp> {
  const client = await clients.connect(server);
  await client.resume(person.credentials.authToken);
  return client;
}

/** Gives `person` unread threads on `rid`, as thread replies would. */
async function unreadThreads(person: Person, rid: string): Promise<void> {
  await server.parley.services.deps.db.subscriptions.updateOne(
    { rid, "u._id": person.user._id },
    { $set: { alert: true, tunread: ["T1"], tunreadUser: ["T1"], tunreadGroup: [] } },
  );
}

describe("subscriptions.read", () => {
  test("clears the counters and sees up to the room's last message", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    const last = await post(alice, room._id, `@${bob.user.username} one`);

    const res = await call(bob, "subscriptions.read", { rid: room._id });

    expect(res.body).toEqual({ success: true });
    const sub = await subscriptionOf(bob, room._id);
    expect(sub).toMatchObject({
      unread: 0,
      userMentions: 0,
      groupMentions: 0,
      alert: false,
      open: true,
    });
    expect(sub.ls >= last.ts).toBe(true);
  });

  test("with readThreads clears the unread threads too", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    await unreadThreads(bob, room._id);

    await call(bob, "subscriptions.read", { rid: room._id, readThreads: true });

    const sub = await subscriptionOf(bob, room._id);
    expect(sub).toMatchObject({ alert: false });
    expect(Object.keys(sub)).not.toContain("tunread");
  });

  test("without readThreads keeps the alert while threads stay unread", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    await unreadThreads(bob, room._id);

    await call(bob, "subscriptions.read", { rid: room._id });

    expect(await subscriptionOf(bob, room._id)).toMatchObject({ alert: true, tunread: ["T1"] });
  });

  test("takes a number as rid, as Rocket.Chat's validator coerces it, and finds no room", async () => {
    const res = await call(bob, "subscriptions.read", { rid: 12345 });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "error-invalid-subscription" });
  });
});

describe("readMessages", () => {
  test("passes readThreads through to the read", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    await unreadThreads(bob, room._id);
    const client = await ddp(bob);

    const answer = await client.call("readMessages", room._id, true);

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(Object.keys(await subscriptionOf(bob, room._id))).not.toContain("tunread");
  });
});

describe("messagesRead", () => {
  async function watching(rid: string): Promise<RawDdp> {
    const client = await ddp(alice);
    await client.sub("stream-notify-room", `${rid}/messagesRead`, false);
    return client;
  }

  test("tells the room how far everyone has read once the last reader reads", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    await post(alice, room._id, "read me");
    const client = await watching(room._id);

    await call(bob, "subscriptions.read", { rid: room._id });

    const [event] = await client.streamEvent("stream-notify-room", `${room._id}/messagesRead`);
    const seen = [
      (await subscriptionOf(alice, room._id)).ls,
      (await subscriptionOf(bob, room._id)).ls,
    ];
    expect((event as { until: Date }).until.toISOString()).toBe(seen.sort()[0]);
  });

  test("says nothing while another member has not read", async () => {
    const room = await addRoom(server, "p", alice, [bob, carol]);
    await post(alice, room._id, "read me");
    const client = await watching(room._id);

    await call(bob, "subscriptions.read", { rid: room._id });
    await fence(client);

    const events = client.frames.filter((f) => JSON.stringify(f).includes("messagesRead"));
    expect(events.filter((f) => f.msg === "changed")).toEqual([]);
  });
});

describe("subscriptions.unread", () => {
  let room: Room;

  beforeAll(async () => {
    room = await addRoom(server, "c", alice, [bob]);
  });

  test("refuses a room without messages", async () => {
    const res = await call(bob, "subscriptions.unread", { roomId: room._id });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "There are no messages to mark unread [error-no-message-for-unread]",
      errorType: "error-no-message-for-unread",
      details: { method: "unreadMessages", action: "Unread_messages" },
    });
  });

  test("marks the room's last message unread", async () => {
    const last = await post(alice, room._id, "last one");
    await call(bob, "subscriptions.read", { rid: room._id });

    const res = await call(bob, "subscriptions.unread", { roomId: room._id });

    expect(res.body).toEqual({ success: true });
    const ls = new Date(new Date(last.ts).getTime() - 1).toISOString();
    expect(await subscriptionOf(bob, room._id)).toMatchObject({
      ls,
      alert: true,
      open: true,
      unread: 1,
    });
  });

  test("marks unread from a given message on", async () => {
    const first = await post(alice, room._id, "from here");
    await post(alice, room._id, "and this");
    await call(bob, "subscriptions.read", { rid: room._id });

    await call(bob, "subscriptions.unread", { firstUnreadMessage: { _id: first._id } });

    const ls = new Date(new Date(first.ts).getTime() - 1).toISOString();
    expect(await subscriptionOf(bob, room._id)).toMatchObject({ ls, alert: true, unread: 1 });
  });

  test("refuses the caller's own message", async () => {
    const mine = await post(bob, room._id, "mine");

    const res = await call(bob, "subscriptions.unread", { firstUnreadMessage: { _id: mine._id } });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-action-not-allowed" });
  });

  test("refuses a body naming neither a room nor a message", async () => {
    const res = await call(bob, "subscriptions.unread", {});

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        "must have required property 'roomId'\n must have required property 'firstUnreadMessage'\n must match a schema in anyOf [invalid-params]",
      errorType: "invalid-params",
    });
  });

  test("is also a DDP method taking the room as second parameter", async () => {
    await call(bob, "subscriptions.read", { rid: room._id });
    const client = await ddp(bob);

    const answer = await client.call("unreadMessages", null, room._id);

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(await subscriptionOf(bob, room._id)).toMatchObject({ alert: true, unread: 1 });
  });
});
