/**
 * Discussions started from one message by requests that arrive together: a double click
 * or two users at once make exactly one whole discussion, which every request answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let author: Person;
let alice: Person;
let bob: Person;
let channel: Room;

beforeAll(async () => {
  server = await startTestServer();
  author = await addPerson(server);
  alice = await addPerson(server);
  bob = await addPerson(server);
  channel = await addRoom(server, "c", author, [alice, bob]);
});

afterAll(async () => {
  await server.stop();
});

async function post(text: string): Promise<string> {
  const res = await api(server, "chat.postMessage", {
    auth: author.credentials,
    body: { roomId: channel._id, text },
  });
  return res.body.message._id;
}

function startDiscussion(who: Person, pmid: string) {
  return api(server, "rooms.createDiscussion", {
    auth: who.credentials,
    body: { prid: channel._id, t_name: "Raced", pmid },
  });
}

/** What the store holds about the discussions of `pmid`, for whole-shape assertions. */
async function discussionsOf(pmid: string) {
  const { db } = server.parley.services.deps;
  const rooms = await db.rooms.find({ pmid });
  const parentMessage = await db.messages.findOne({ _id: pmid });
  const linking = await db.messages.find({ rid: channel._id, t: "discussion-created" });
  const [room] = rooms;
  const subs = room ? await db.subscriptions.find({ rid: room._id }) : [];
  const joins = room ? await db.messages.find({ rid: room._id, t: "uj" }) : [];
  return {
    rooms: rooms.length,
    drid: parentMessage?.drid,
    linking: linking.filter((m) => m.drid === room?._id).length,
    usersCount: room?.usersCount,
    members: subs.map((s) => s.u.username).sort(),
    joins: joins.map((m) => m.msg),
    rid: room?._id,
  };
}

describe("rooms.createDiscussion at once from one message", () => {
  test("a double click makes one whole discussion that both requests answer", async () => {
    const pmid = await post("double click here");

    const answers = await Promise.all([startDiscussion(alice, pmid), startDiscussion(alice, pmid)]);

    const state = await discussionsOf(pmid);
    expect(answers.map((a) => [a.status, a.body.discussion?._id])).toEqual([
      [200, state.rid],
      [200, state.rid],
    ]);
    expect(state).toEqual({
      rooms: 1,
      drid: state.rid,
      linking: 1,
      usersCount: 2,
      members: [alice.user.username, author.user.username].sort(),
      joins: [],
      rid: expect.any(String),
    });
  });

  test("two users at once make one discussion that the second joins", async () => {
    const pmid = await post("two users here");

    const answers = await Promise.all([startDiscussion(alice, pmid), startDiscussion(bob, pmid)]);

    const state = await discussionsOf(pmid);
    expect(answers.map((a) => [a.status, a.body.discussion?._id])).toEqual([
      [200, state.rid],
      [200, state.rid],
    ]);
    expect(state).toEqual({
      rooms: 1,
      drid: state.rid,
      linking: 1,
      usersCount: 3,
      members: [alice.user.username, author.user.username, bob.user.username].sort(),
      joins: [bob.user.username],
      rid: expect.any(String),
    });
  });

  test("the message's author racing a creator makes no second membership", async () => {
    const pmid = await post("the author races");

    const answers = await Promise.all([
      startDiscussion(alice, pmid),
      startDiscussion(author, pmid),
    ]);

    const state = await discussionsOf(pmid);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(state).toMatchObject({
      rooms: 1,
      drid: state.rid,
      linking: 1,
      usersCount: 2,
      members: [alice.user.username, author.user.username].sort(),
    });
  });
});

describe("channels.join", () => {
  test("finding the user subscribed behind the room's back answers the room", async () => {
    const room = await addRoom(server, "c", author);
    const warm = await api(server, "chat.postMessage", {
      auth: author.credentials,
      body: { roomId: room._id, text: "the actor now knows its members" },
    });
    expect(warm.status).toBe(200);
    const { db, ids, clock } = server.parley.services.deps;
    const now = clock.now();
    // As a new discussion's members are written: straight to the store, not by the actor.
    await db.subscriptions.insertOne({
      _id: ids.id(),
      rid: room._id,
      u: { _id: bob.user._id, username: bob.user.username },
      name: room.name as string,
      t: "c",
      ts: now,
      ls: now,
      _updatedAt: now,
      open: true,
      alert: false,
      unread: 0,
      userMentions: 0,
      groupMentions: 0,
    });

    const joined = await api(server, "channels.join", {
      auth: bob.credentials,
      body: { roomId: room._id },
    });
    const again = await api(server, "chat.postMessage", {
      auth: bob.credentials,
      body: { roomId: room._id, text: "the actor still runs" },
    });

    expect([joined.status, joined.body.channel?._id, again.status]).toEqual([200, room._id, 200]);
    expect(await db.subscriptions.countDocuments({ rid: room._id })).toBe(2);
  });
});
