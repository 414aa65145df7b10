/**
 * Pruning a room's history over real HTTP and DDP (rooms.cleanHistory, cleanRoomHistory):
 * which messages go for each option, the count and `msgs`, the trash that lets a sync
 * report them, the `<rid>/deleteMessageBulk` event, discussions pruned with their linking
 * message, and clean-channel-history flipped through the store.
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

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  [alice, bob] = [await addPerson(server), await addPerson(server)];
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  watchers.closeAll();
  await server.stop();
});

const post = (path: string, who: Person | Credentials, body: Record<string, unknown>) =>
  api(server, path, { auth: "credentials" in who ? who.credentials : who, body });

/** Sends `text` as `who`; resolves to the message's id and time. */
async function say(who: Person, rid: string, text: string) {
  const res = await post("chat.sendMessage", who, { message: { rid, msg: text } });
  if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
  return { _id: res.body.message._id as string, ts: res.body.message.ts as string };
}

/** A channel of alice's with bob and three messages (alice, bob, alice). */
async function threeMessages() {
  const room = await addRoom(server, "c", alice, [bob]);
  const sent = [await say(alice, room._id, "one"), await say(bob, room._id, "two")];
  sent.push(await say(alice, room._id, "three"));
  return { room, sent };
}

const clean = (room: Room, options: Record<string, unknown>, who: Credentials = server.admin) =>
  post("rooms.cleanHistory", who, { roomId: room._id, ...options });

const remaining = async (rid: string) =>
  (await server.parley.services.deps.db.messages.find({ rid }, { sort: { ts: 1 } })).map(
    (m) => m.msg,
  );

describe("what goes", () => {
  test("deletes the messages between two dates, answers how many and lowers msgs", async () => {
    const { room, sent } = await threeMessages();

    const res = await clean(room, { oldest: sent[0]?.ts, latest: sent[1]?.ts, inclusive: true });

    expect(res.body).toEqual({ _id: room._id, count: 2, success: true });
    expect(await remaining(room._id)).toEqual(["three"]);
    expect(await server.parley.services.rooms.byId(room._id)).toMatchObject({
      msgs: 1,
      lastMessage: { msg: "three" },
    });
  });

  test("without inclusive, messages sent exactly at the bounds stay", async () => {
    const { room, sent } = await threeMessages();

    const res = await clean(room, { oldest: sent[0]?.ts, latest: sent[2]?.ts });

    expect(res.body.count).toBe(1);
    expect(await remaining(room._id)).toEqual(["one", "three"]);
  });

  test("users limits the pruning to those users' messages", async () => {
    const { room, sent } = await threeMessages();

    await clean(room, {
      oldest: sent[0]?.ts,
      latest: sent[2]?.ts,
      inclusive: true,
      users: [bob.user.username],
    });

    expect(await remaining(room._id)).toEqual(["one", "three"]);
  });

  test("excludePinned keeps pinned messages", async () => {
    const { room, sent } = await threeMessages();
    await post("chat.pinMessage", alice, { messageId: sent[1]?._id });
    const pinned = await server.parley.services.deps.db.messages.findOne({ _id: sent[1]?._id });
    expect(pinned?.pinned).toBe(true);

    await clean(room, {
      oldest: sent[0]?.ts,
      latest: sent[2]?.ts,
      inclusive: true,
      excludePinned: true,
    });

    expect(await remaining(room._id)).toContain("two");
    expect(await remaining(room._id)).not.toContain("one");
  });

  test("limit deletes at most that many, oldest first", async () => {
    const { room, sent } = await threeMessages();

    const res = await clean(room, {
      oldest: sent[0]?.ts,
      latest: sent[2]?.ts,
      inclusive: true,
      limit: 2,
    });

    expect(res.body.count).toBe(2);
    expect(await remaining(room._id)).toEqual(["three"]);
  });

  test("pruned messages go to the trash, where a sync finds them", async () => {
    const { room, sent } = await threeMessages();

    await clean(room, { oldest: sent[0]?.ts, latest: sent[2]?.ts, inclusive: true });

    const trash = await server.parley.services.deps.db.trash.find({ rid: room._id });
    expect(trash.map((r) => r._id).sort()).toEqual(sent.map((m) => m._id).sort());
  });

  test("a pruned discussion link takes its discussion along, unless ignoreDiscussion", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const first = await say(alice, room._id, "before");
    const kept = await post("rooms.createDiscussion", alice, { prid: room._id, t_name: "kept" });
    const gone = await post("rooms.createDiscussion", alice, { prid: room._id, t_name: "gone" });
    const last = await say(alice, room._id, "after");
    const range = { oldest: first.ts, latest: last.ts, inclusive: true };

    await clean(room, { ...range, ignoreDiscussion: true });
    const afterIgnoring = await storedOf(server, kept.body.discussion._id);
    await clean(room, range);

    expect(afterIgnoring.room).not.toBeNull();
    expect((await storedOf(server, gone.body.discussion._id)).room).toBeNull();
    expect((await storedOf(server, kept.body.discussion._id)).room).toBeNull();
  });
});

describe("who hears and who may", () => {
  test("members hear deleteMessageBulk with what was pruned", async () => {
    const { room, sent } = await threeMessages();
    const watcher = await watchers.connect(server, bob);
    await watcher.sub("stream-notify-room", `${room._id}/deleteMessageBulk`, false);

    await clean(room, { oldest: sent[0]?.ts, latest: sent[1]?.ts, inclusive: true });

    const args = await watcher.streamEvent("stream-notify-room", `${room._id}/deleteMessageBulk`);
    expect(args).toEqual([
      {
        rid: room._id,
        excludePinned: false,
        ignoreDiscussion: false,
        ts: { $gte: new Date(sent[0]?.ts ?? ""), $lte: new Date(sent[1]?.ts ?? "") },
        users: [],
      },
    ]);
  });

  test("owners may not prune until clean-channel-history is theirs", async () => {
    const { room, sent } = await threeMessages();
    const range = { oldest: sent[0]?.ts, latest: sent[2]?.ts, inclusive: true };

    const refused = await clean(room, range, alice.credentials);
    await switches.permission("clean-channel-history", ["admin", "owner"]);
    const allowed = await clean(room, range, alice.credentials);

    expect(refused.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "cleanRoomHistory" },
    });
    expect(allowed.body.count).toBe(3);
  });

  test("a private group the caller cannot read is refused", async () => {
    const room = await addRoom(server, "p", alice);
    const now = new Date().toISOString();

    const res = await clean(room, { oldest: now, latest: now });

    expect(res.body).toEqual({
      success: false,
      error: "User does not have access to the room [error-not-allowed]",
      errorType: "error-not-allowed",
    });
  });

  test("a date that does not parse is refused", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await clean(room, { oldest: "yesterday-ish", latest: new Date().toISOString() });

    expect(res.body.errorType).toBe("error-invalid-date");
  });

  test("cleanRoomHistory over DDP answers the count", async () => {
    const { room, sent } = await threeMessages();
    await switches.permission("clean-channel-history", ["admin", "owner"]);
    const client = await watchers.connect(server, alice);

    const answer = await client.call("cleanRoomHistory", {
      roomId: room._id,
      oldest: new Date(sent[0]?.ts ?? ""),
      latest: new Date(sent[2]?.ts ?? ""),
    });

    expect(answer.result).toBe(3);
  });
});
