/**
 * The DDP methods clients call, over a real WebSocket, with Rocket.Chat's result shapes:
 * messages, history, rooms and membership, read state and the sync methods.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, rawFrames, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();
let alice: SeededUser;
let bob: SeededUser;
let ddpAlice: RawDdp;
let ddpBob: RawDdp;

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "alice");
  bob = await seedUser(server, "bob");
  ddpAlice = await clients.connect(server, alice);
  ddpBob = await clients.connect(server, bob);
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** Calls `method` as `client` and returns its result, failing the test on a method error. */
async function result<T = Record<string, unknown>>(
  client: RawDdp,
  method: string,
  ...params: unknown[]
): Promise<T> {
  const answer = await client.call(method, ...params);
  if (answer.error) throw new Error(`${method} failed: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

/** The Meteor error a method answered with. */
async function failure(client: RawDdp, method: string, ...params: unknown[]) {
  return (await client.call(method, ...params)).error;
}

function meteorError(error: string | number, reason: string, details?: Record<string, unknown>) {
  const message = `${reason} [${error}]`;
  return {
    isClientSafe: true,
    error,
    reason,
    message,
    errorType: "Meteor.Error",
    ...(details && { details }),
  };
}

async function privateGroup(owner: RawDdp, members: string[] = []): Promise<string> {
  const name = `group-${crypto.randomUUID().slice(0, 8)}`;
  return (await result<{ rid: string }>(owner, "createPrivateGroup", name, members)).rid;
}

describe("sendMessage", () => {
  test("answers the stored message, with its dates as $date on the wire", async () => {
    const raw = rawFrames(ddpAlice);

    const draft = { _id: "clientChosenId0001", rid: "GENERAL", msg: "hello" };
    const message = await result(ddpAlice, "sendMessage", draft);

    expect(message).toEqual({
      _id: "clientChosenId0001",
      rid: "GENERAL",
      msg: "hello",
      ts: expect.any(Date),
      u: { _id: alice._id, username: alice.username, name: alice.username },
      _updatedAt: expect.any(Date),
      urls: [],
      mentions: [],
      channels: [],
      md: [{ type: "PARAGRAPH", value: [{ type: "PLAIN_TEXT", value: "hello" }] }],
    });
    expect(raw[0]).toMatch(/"ts":\{"\$date":\d+\}/);
  });

  test("refuses a private group the sender is not in", async () => {
    const rid = await privateGroup(ddpAlice);

    const error = await failure(ddpBob, "sendMessage", { rid, msg: "let me in" });

    expect(error).toEqual(
      meteorError("error-not-allowed", "Not allowed", { method: "sendMessage" }),
    );
  });
});

describe("updateMessage and deleteMessage", () => {
  test("updateMessage edits the text and answers no result", async () => {
    const sent = await result<{ _id: string }>(ddpAlice, "sendMessage", {
      rid: "GENERAL",
      msg: "typo",
    });

    const answer = await ddpAlice.call("updateMessage", {
      _id: sent._id,
      rid: "GENERAL",
      msg: "fixed",
    });
    const stored = await server.parley.services.messages.byId(sent._id);

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(stored).toMatchObject({
      msg: "fixed",
      editedBy: { _id: alice._id, username: alice.username },
    });
  });

  test("updateMessage refuses someone else's message", async () => {
    const sent = await result<{ _id: string }>(ddpAlice, "sendMessage", {
      rid: "GENERAL",
      msg: "mine",
    });

    const error = await failure(ddpBob, "updateMessage", {
      _id: sent._id,
      rid: "GENERAL",
      msg: "yours now",
    });

    const details = { method: "updateMessage", action: "Message_editing" };
    expect(error).toEqual(
      meteorError("error-action-not-allowed", "Message editing not allowed", details),
    );
  });

  test("deleteMessage removes the message and answers no result", async () => {
    const sent = await result<{ _id: string }>(ddpAlice, "sendMessage", {
      rid: "GENERAL",
      msg: "short-lived",
    });

    const answer = await ddpAlice.call("deleteMessage", { _id: sent._id });

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(await server.parley.services.messages.byId(sent._id)).toBeNull();
  });

  test("deleteMessage of an unknown message is refused as not allowed", async () => {
    expect(await failure(ddpAlice, "deleteMessage", { _id: "noSuchMessage0001" })).toEqual(
      meteorError("error-action-not-allowed", "Not allowed"),
    );
  });
});

describe("loadHistory", () => {
  test("answers the newest messages first, up to the limit, before the end date", async () => {
    const rid = await privateGroup(ddpAlice);
    const first = await result<{ ts: Date }>(ddpAlice, "sendMessage", { rid, msg: "one" });
    await result(ddpAlice, "sendMessage", { rid, msg: "two" });
    const third = await result<{ ts: Date }>(ddpAlice, "sendMessage", { rid, msg: "three" });

    type Page = { messages: { msg: string }[]; unreadNotLoaded: number };
    const latest = await result<Page>(ddpAlice, "loadHistory", rid, null, 2);
    const older = await result<Page>(ddpAlice, "loadHistory", rid, third.ts, 20);

    expect(latest).toEqual({
      messages: [
        expect.objectContaining({ msg: "three" }),
        expect.objectContaining({ msg: "two" }),
      ],
      unreadNotLoaded: 0,
    });
    expect(older.messages.map((m) => m.msg)).toEqual(["two", "one"]);
    expect(first.ts).toBeInstanceOf(Date);
  });

  test("names the first unread message and counts the unread ones left out of the page", async () => {
    const rid = await privateGroup(ddpAlice);
    const seen = await result<{ ts: Date }>(ddpAlice, "sendMessage", { rid, msg: "seen" });
    await result(ddpAlice, "sendMessage", { rid, msg: "unread 1" });
    await result(ddpAlice, "sendMessage", { rid, msg: "unread 2" });
    await result(ddpAlice, "sendMessage", { rid, msg: "unread 3" });

    const page = await result<Record<string, unknown>>(
      ddpAlice,
      "loadHistory",
      rid,
      null,
      1,
      seen.ts,
    );

    expect(page.firstUnread).toMatchObject({ msg: "unread 1" });
    expect(page.unreadNotLoaded).toBe(2);
  });

  test("a limit of 0 answers at most 1000 messages, never the whole history", async () => {
    const rid = await privateGroup(ddpAlice);
    const start = Date.now();
    const u = { _id: alice._id, username: alice.username };
    const history = Array.from({ length: 1001 }, (_, i) => ({
      _id: `history0${String(i).padStart(9, "0")}`,
      rid,
      msg: `old ${i}`,
      ts: new Date(start - 1001 + i),
      u,
      _updatedAt: new Date(start),
    }));
    await server.parley.services.deps.db.messages.insertMany(history);

    const page = await result<{ messages: unknown[] }>(ddpAlice, "loadHistory", rid, null, 0);

    expect(page.messages).toHaveLength(1000);
  });

  test("answers false for a private group the caller is not in", async () => {
    const rid = await privateGroup(ddpAlice);

    const answer = await ddpBob.call("loadHistory", rid, null, 20);

    expect(answer).toEqual({ msg: "result", id: answer.id, result: false });
  });
});

describe("rooms and membership", () => {
  test("createChannel answers the new room with rid and inserted", async () => {
    const name = `channel-${crypto.randomUUID().slice(0, 8)}`;

    const room = await result(ddpAlice, "createChannel", name, [bob.username]);

    expect(room).toEqual({
      rid: room._id,
      inserted: true,
      _id: expect.stringMatching(/^\w{17}$/),
      t: "c",
      name,
      fname: name,
      u: { _id: alice._id, username: alice.username },
      ts: expect.any(Date),
      _updatedAt: expect.any(Date),
      msgs: 0,
      usersCount: 2,
      ro: false,
      default: false,
      sysMes: true,
    });
  });

  test("createPrivateGroup refuses a name that is taken", async () => {
    const name = `taken-${crypto.randomUUID().slice(0, 8)}`;
    await result(ddpAlice, "createPrivateGroup", name, []);

    const error = (await failure(ddpAlice, "createPrivateGroup", name, [])) as { error: string };

    expect(error.error).toBe("error-duplicate-channel-name");
  });

  test("createDirectMessage answers the room under rid, without _id", async () => {
    const room = await result(ddpAlice, "createDirectMessage", bob.username);

    const rid = [alice._id, bob._id].sort().join("");
    expect(room).toMatchObject({ t: "d", rid, usernames: [alice.username, bob.username].sort() });
    expect(room).not.toHaveProperty("_id");
  });

  test("joinRoom answers true and makes the caller a member", async () => {
    const name = `join-${crypto.randomUUID().slice(0, 8)}`;
    const { rid } = await result<{ rid: string }>(ddpAlice, "createChannel", name, []);

    const joined = await result<boolean>(ddpBob, "joinRoom", rid);
    const subs = await result<{ rid: string }[]>(ddpBob, "subscriptions/get");

    expect(joined).toBe(true);
    expect(subs.map((s) => s.rid)).toContain(rid);
  });

  test("joinRoom refuses a private group", async () => {
    const rid = await privateGroup(ddpAlice);

    const error = await failure(ddpBob, "joinRoom", rid);

    expect(error).toEqual(meteorError("error-not-allowed", "Not allowed", { method: "joinRoom" }));
  });

  test("leaveRoom answers no result and ends the membership", async () => {
    const rid = await privateGroup(ddpAlice, [bob.username]);

    const answer = await ddpBob.call("leaveRoom", rid);

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(await server.parley.services.rooms.subscription(rid, bob._id)).toBeNull();
  });
});

describe("read state and sync", () => {
  test("readMessages clears the caller's unread count and answers no result", async () => {
    const rid = await privateGroup(ddpAlice, [bob.username]);
    await result(ddpAlice, "sendMessage", { rid, msg: "unread for bob" });

    const answer = await ddpBob.call("readMessages", rid);
    const sub = await server.parley.services.rooms.subscription(rid, bob._id);

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(sub).toMatchObject({ unread: 0, alert: false });
  });

  test("subscriptions/get with a date answers only what changed after it, as update and remove", async () => {
    const rid = await privateGroup(ddpAlice);
    const sub = await server.parley.services.rooms.subscription(rid, alice._id);
    const changedAt = (sub?._updatedAt as Date).getTime();

    type Sync = { update: { rid: string }[]; remove: unknown[] };
    const before = await result<Sync>(ddpAlice, "subscriptions/get", new Date(changedAt - 1));
    const at = await result<Sync>(ddpAlice, "subscriptions/get", new Date(changedAt));

    expect(before.update.map((s) => s.rid)).toContain(rid);
    expect(before.remove).toEqual([]);
    expect(at.update.map((s) => s.rid)).not.toContain(rid);
  });

  test("rooms/get answers the caller's rooms and never a join code", async () => {
    const rid = await privateGroup(ddpAlice);
    await server.parley.store
      .collection("rooms")
      .updateOne({ _id: rid }, { $set: { joinCode: "secret" } });

    const rooms = await result<{ _id: string }[]>(ddpAlice, "rooms/get");
    const room = rooms.find((r) => r._id === rid);

    expect(rooms.map((r) => r._id)).toEqual(expect.arrayContaining(["GENERAL", rid]));
    expect(room).not.toHaveProperty("joinCode");
  });

  test("an unknown method is answered with Meteor's 404", async () => {
    expect(await failure(ddpAlice, "noSuchMethod")).toEqual(
      meteorError(404, "Method 'noSuchMethod' not found"),
    );
  });
});
