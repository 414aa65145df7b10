/**
 * Deleting rooms over real HTTP and DDP: nothing of the room is left in the store (its
 * messages, thread replies, trash records, subscriptions and discussions), every member
 * hears of it and loses its streams, the room's actor ends, and delete-c, delete-p and
 * delete-d decide who may delete (flipped through the store).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { storedOf, Watchers } from "./fixtures/room-watch.ts";
import { Switches } from "./fixtures/switches.ts";
import { api, type Credentials, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
const watchers = new Watchers();
let alice: Person;
let bob: Person;
let carol: Person;

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  [alice, bob, carol] = [await addPerson(server), await addPerson(server), await addPerson(server)];
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  watchers.closeAll();
  await server.stop();
});

const post = (path: string, who: Person | Credentials, body: Record<string, unknown>) =>
  api(server, path, { auth: "credentials" in who ? who.credentials : who, body });

async function say(who: Person, rid: string, text: string, tmid?: string): Promise<string> {
  const res = await post("chat.sendMessage", who, { message: { rid, msg: text, tmid } });
  if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
  return res.body.message._id;
}

/** A room of alice's with bob, a thread, a deleted message and a discussion with a message. */
async function busyRoom(type: "c" | "p"): Promise<{ room: Room; discussion: Room }> {
  const room = await addRoom(server, type, alice, [bob]);
  const parent = await say(alice, room._id, "start of a thread");
  await say(bob, room._id, "a reply", parent);
  const gone = await say(bob, room._id, "soon deleted");
  await post("chat.delete", bob, { roomId: room._id, msgId: gone });
  const created = await post("rooms.createDiscussion", alice, {
    prid: room._id,
    t_name: "side talk",
    users: [bob.user.username],
  });
  const discussion = created.body.discussion as Room;
  await say(bob, discussion._id, "inside the discussion");
  return { room, discussion };
}

const nothing = { room: null, subscriptions: 0, messages: 0, trash: 0 };

describe("what a deletion leaves", () => {
  test("channels.delete leaves nothing of the room nor of its discussions", async () => {
    const { room, discussion } = await busyRoom("c");
    expect((await storedOf(server, room._id)).trash).toBe(1);

    const res = await post("channels.delete", alice, { roomId: room._id });

    expect(res.body).toEqual({ success: true });
    expect(await storedOf(server, room._id)).toEqual(nothing);
    expect(await storedOf(server, discussion._id)).toEqual(nothing);
  });

  test("groups.delete leaves nothing of the group nor of its discussions", async () => {
    const { room, discussion } = await busyRoom("p");

    await post("groups.delete", alice, { roomName: room.name });

    expect(await storedOf(server, room._id)).toEqual(nothing);
    expect(await storedOf(server, discussion._id)).toEqual(nothing);
  });

  test("deleting a discussion leaves its parent room, whose link to it is cleared", async () => {
    const { room, discussion } = await busyRoom("c");
    const { messages } = server.parley.services.deps.db;

    const res = await post("rooms.delete", alice, { roomId: discussion._id });

    expect(res.body).toEqual({ success: true });
    expect(await storedOf(server, discussion._id)).toEqual(nothing);
    expect((await storedOf(server, room._id)).room).toMatchObject({ _id: room._id });
    const link = await messages.findOne({ rid: room._id, t: "discussion-created" });
    expect(link).not.toBeNull();
    expect([link?.drid, link?.dcount, link?.dlm]).toEqual([undefined, undefined, undefined]);
  });

  test("a command queued behind the deletion is refused, and writes nothing", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const gateway = server.parley.services.deps.rooms;

    const [erased, sent] = await Promise.allSettled([
      gateway.execute(room._id, { kind: "lifecycle.erase", user: alice.user }),
      gateway.execute(room._id, { kind: "send", user: bob.user, draft: { msg: "too late" } }),
    ]);

    expect(erased.status).toBe("fulfilled");
    expect(sent).toMatchObject({ status: "rejected", reason: { error: "error-room-not-found" } });
    expect(await storedOf(server, room._id)).toEqual(nothing);
  });

  test("a direct message deleted by an admin can be opened again, afresh", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);
    await say(alice, dm._id, "hi bob");

    await post("im.delete", server.admin, { roomId: dm._id });
    const reopened = await post("im.create", alice, { username: bob.user.username });
    await say(alice, dm._id, "hi again");

    expect(reopened.body.room._id).toBe(dm._id);
    expect(await storedOf(server, dm._id)).toMatchObject({ subscriptions: 2, messages: 1 });
  });
});

describe("what members hear", () => {
  test("each member hears removed, and their streams of the room end", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const watcher = await watchers.connect(server, bob);
    const uid = bob.user._id;
    await watcher.sub("stream-notify-user", `${uid}/rooms-changed`, false);
    await watcher.sub("stream-notify-user", `${uid}/subscriptions-changed`, false);
    const ready = await watcher.sub("stream-room-messages", room._id, false);
    const [streamId] = ready.subs as string[];
    const sub = await server.parley.services.rooms.subscription(room._id, uid);

    await post("channels.delete", alice, { roomId: room._id });

    const roomRemoved = await watcher.streamEvent("stream-notify-user", `${uid}/rooms-changed`);
    const subRemoved = await watcher.streamEvent(
      "stream-notify-user",
      `${uid}/subscriptions-changed`,
    );
    expect(roomRemoved).toEqual(["removed", { _id: room._id }]);
    expect(subRemoved).toEqual([
      "removed",
      { _id: sub?._id, u: { _id: uid }, rid: room._id, t: "c" },
    ]);
    expect(await watcher.waitFor((f) => f.msg === "nosub" && f.id === streamId)).toEqual({
      msg: "nosub",
      id: streamId,
    });
  });

  test("eraseRoom over DDP answers true", async () => {
    const room = await addRoom(server, "p", alice);
    const client = await watchers.connect(server, alice);

    const answer = await client.call("eraseRoom", room._id);

    expect(answer.result).toBe(true);
    expect((await storedOf(server, room._id)).room).toBeNull();
  });
});

describe("who may delete", () => {
  test("a plain member may not delete a channel", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const res = await post("channels.delete", bob, { roomId: room._id });

    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "eraseRoom" },
    });
    expect((await storedOf(server, room._id)).subscriptions).toBe(2);
  });

  test("owners may not delete channels once delete-c is taken from them", async () => {
    const { room, discussion } = await busyRoom("c");
    await switches.permission("delete-c", ["admin"]);

    const res = await post("channels.delete", alice, { roomId: room._id });

    expect(res.body.errorType).toBe("error-not-allowed");
    expect((await storedOf(server, discussion._id)).room).not.toBeNull();
  });

  test("members may delete groups once delete-p is given to every user", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    await switches.permission("delete-p", ["admin", "owner", "user"]);

    const res = await post("groups.delete", bob, { roomId: room._id });

    expect(res.body).toEqual({ success: true });
  });

  test("a non-member learns nothing of a private group it tries to delete", async () => {
    const room = await addRoom(server, "p", alice);

    const res = await post("groups.delete", carol, { roomId: room._id });

    expect(res.body.errorType).toBe("error-room-not-found");
  });

  test("members of a direct message may not delete it while delete-d stays with admins", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [carol.user.username]);

    const refused = await post("im.delete", alice, { roomId: dm._id });
    await switches.permission("delete-d", ["admin", "user"]);
    const allowed = await post("dm.delete", alice, { username: carol.user.username });

    expect(refused.body.errorType).toBe("error-not-allowed");
    expect(allowed.body).toEqual({ success: true });
  });

  test("rooms.delete refuses a room that does not exist", async () => {
    const res = await post("rooms.delete", server.admin, { roomId: "no-such-room" });

    expect(res.body).toEqual({
      success: false,
      error: "Invalid room [error-invalid-room]",
      errorType: "error-invalid-room",
      details: { method: "eraseRoom" },
    });
  });
});
