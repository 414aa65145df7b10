/**
 * How a room shows in a member's room list: favourites (`rooms.favorite`, DDP
 * `toggleFavorite`), hiding (`rooms.hide`, DDP `hideRoom`) and opening again (`rooms.open`,
 * DDP `openRoom`), with Rocket.Chat's answers and the subscriptions-changed event.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients } from "./ddp-helpers.ts";
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

function call(person: Person, path: string, body: unknown) {
  return api(server, path, { auth: person.credentials, body });
}

async function subscriptionOf(person: Person, rid: string) {
  const res = await api(server, "subscriptions.getOne", {
    auth: person.credentials,
    query: { roomId: rid },
  });
  return res.body.subscription;
}

async function ddp(person: Person): Promise<RawDdp> {
  const client = await clients.connect(server);
  await client.resume(person.credentials.authToken);
  return client;
}

describe("rooms.favorite", () => {
  test("marks a room a favourite by name and unmarks it by id", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const marked = await call(bob, "rooms.favorite", { roomName: room.name, favorite: true });
    const markedSub = await subscriptionOf(bob, room._id);
    const unmarked = await call(bob, "rooms.favorite", { roomId: room._id, favorite: false });

    expect([marked.body, unmarked.body]).toEqual([{ success: true }, { success: true }]);
    expect(markedSub).toMatchObject({ f: true });
    expect(await subscriptionOf(bob, room._id)).toMatchObject({ f: false });
  });

  test("announces the change on subscriptions-changed", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    const client = await ddp(bob);
    await client.sub("stream-notify-user", `${bob.user._id}/subscriptions-changed`, false);

    await call(bob, "rooms.favorite", { roomId: room._id, favorite: true });

    const [action, sub] = await client.streamEvent(
      "stream-notify-user",
      `${bob.user._id}/subscriptions-changed`,
    );
    expect([action, sub]).toMatchObject(["updated", { rid: room._id, f: true }]);
  });

  test("requires the favorite parameter", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const res = await call(bob, "rooms.favorite", { roomId: room._id });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: "The 'favorite' param is required" });
  });

  test("refuses a public channel the caller has not joined", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const res = await call(carol, "rooms.favorite", { roomId: room._id, favorite: true });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "You must be part of a room to favorite it [error-invalid-subscription]",
      errorType: "error-invalid-subscription",
      details: { method: "toggleFavorite" },
    });
  });

  test("answers a private group the caller cannot read as a room that does not exist", async () => {
    const room = await addRoom(server, "p", alice, [bob]);

    const res = await call(carol, "rooms.favorite", { roomId: room._id, favorite: true });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, errorType: "error-room-not-found" });
  });
});

describe("rooms.hide and rooms.open", () => {
  test("hides a room, refuses to hide it twice, and opens it again", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const hidden = await call(bob, "rooms.hide", { roomId: room._id });
    const again = await call(bob, "rooms.hide", { roomId: room._id });
    const hiddenSub = await subscriptionOf(bob, room._id);
    const opened = await call(bob, "rooms.open", { roomId: room._id });

    expect(hidden.body).toEqual({ success: true });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ success: false, error: "error-room-already-hidden" });
    expect(hiddenSub).toMatchObject({ open: false, alert: false });
    expect(opened.body).toEqual({ success: true });
    expect(await subscriptionOf(bob, room._id)).toMatchObject({ open: true });
  });

  test("refuses to hide a room the caller may not read with a 401", async () => {
    const room = await addRoom(server, "p", alice, [bob]);

    const res = await call(carol, "rooms.hide", { roomId: room._id });

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ success: false, error: "unauthorized" });
  });

  test("requires roomId", async () => {
    const res = await call(bob, "rooms.open", {});

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'roomId' [invalid-params]",
      errorType: "invalid-params",
    });
  });
});

describe("DDP", () => {
  test("hideRoom and openRoom answer how many subscriptions changed", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const client = await ddp(bob);

    const answers = [];
    for (const method of ["hideRoom", "hideRoom", "openRoom", "openRoom"]) {
      answers.push((await client.call(method, room._id)).result);
    }

    expect(answers).toEqual([1, 0, 1, 0]);
  });

  test("toggleFavorite sets the mark, true unless said otherwise", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const client = await ddp(bob);

    const set = await client.call("toggleFavorite", room._id);
    const same = await client.call("toggleFavorite", room._id, true);
    const cleared = await client.call("toggleFavorite", room._id, false);

    expect([set.result, same.result, cleared.result]).toEqual([1, 0, 1]);
    expect(await subscriptionOf(bob, room._id)).toMatchObject({ f: false });
  });

  test("toggleFavorite refuses a favorite that is not a boolean", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const client = await ddp(bob);

    const answer = await client.call("toggleFavorite", room._id, "yes");

    expect(answer.error).toMatchObject({ error: 400, reason: "Match failed" });
  });
});
