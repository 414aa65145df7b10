import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Message, User } from "../core/models.ts";
import type { MessageDraft, PlainSend } from "../services/room-commands.ts";
import type { RoomEffects } from "../supervisors/rooms.ts";
import { api, createUser, RawDdp, startTestServer, type TestServer } from "./helpers.ts";

/** A message with this text holds its room actor until the test lets it go. */
const HOLD = "hold the room while others queue";

/** The real room effects, with the held message and a record of every batch's texts. */
function observed(release: Promise<void>, batches: string[][]) {
  return (real: RoomEffects): RoomEffects => ({
    load: real.load,
    async execute(state, command) {
      if (command.kind === "send" && command.draft.msg === HOLD) await release;
      return real.execute(state, command);
    },
    async sendBatch(state, commands: readonly PlainSend[]) {
      batches.push(commands.map((c) => c.draft.msg ?? ""));
      return (real.sendBatch as NonNullable<RoomEffects["sendBatch"]>)(state, commands);
    },
  });
}

describe("messages sent together to one room", () => {
  let server: TestServer;
  let open: () => void;
  const batches: string[][] = [];
  let rid: string;
  let admin: User;
  let member: User;
  let outsider: User;
  let memberToken: string;

  beforeAll(async () => {
    const release = new Promise<void>((resolve) => (open = resolve));
    server = await startTestServer({ roomEffects: observed(release, batches) });
    const a = await createUser(server);
    const b = await createUser(server);
    memberToken = a.credentials.authToken;
    const created = await api(server, "groups.create", {
      auth: server.admin,
      body: { name: `batch-${Date.now()}`, members: [a.user.username] },
    });
    rid = created.body.group._id;
    const users = server.parley.services.deps.db.users;
    admin = (await users.findOne({ _id: server.admin.userId })) as User;
    member = (await users.findOne({ _id: a.user._id })) as User;
    outsider = (await users.findOne({ _id: b.user._id })) as User;
    // The room's actor is running and idle, so the held message runs alone.
    await server.parley.rooms.execute(rid, { kind: "send", user: admin, draft: { msg: "hello" } });
  });

  afterAll(async () => {
    open();
    await server.stop();
  });

  test("are checked one by one, stored in order, and each sender gets its own answer", async () => {
    const listener = await RawDdp.connect(server.wsUrl);
    await listener.resume(memberToken);
    expect((await listener.sub("stream-room-messages", rid, false)).msg).toBe("ready");
    const rooms = server.parley.rooms;
    const send = (user: User, draft: MessageDraft) =>
      rooms.execute(rid, { kind: "send", user, draft }).then(
        (message) => message.msg,
        (error: { error?: string }) => `!${error.error}`,
      );
    const held = send(admin, { msg: HOLD });
    const queued = [
      send(member, { msg: "a1" }),
      send(outsider, { msg: "from outside" }),
      send(admin, { msg: "x1", _id: "same-id" }),
      send(member, { msg: "a2" }),
      send(admin, { msg: "x2", _id: "same-id" }),
      send(admin, { msg: "x3" }),
    ];

    open();

    expect(await held).toBe(HOLD);
    expect(await Promise.all(queued)).toEqual([
      "a1",
      "!error-not-allowed",
      "x1",
      "a2",
      "!error-duplicated-message",
      "x3",
    ]);
    expect(batches).toEqual([["a1", "from outside", "x1", "a2", "x2", "x3"]]);

    const stored = ["hello", HOLD, "a1", "x1", "a2", "x3"];
    await listener.streamEvent("stream-room-messages", rid, (args) => {
      return (args[0] as Message).msg === "x3";
    });
    const streamed = listener.frames
      .filter((f) => f.msg === "changed" && (f.fields as { eventName: string }).eventName === rid)
      .map((f) => ((f.fields as { args: Message[] }).args[0] as Message).msg);
    expect(streamed).toEqual(stored.slice(1));
    const history = await listener.call("loadHistory", rid, null, 50);
    const messages = (history.result as { messages: Message[] }).messages.toReversed();
    expect(messages.map((m) => m.msg)).toEqual(stored);
    const times = messages.map((m) => new Date(m.ts).getTime());
    expect(times).toEqual(times.toSorted((x, y) => x - y));
    expect(new Set(times).size).toBe(times.length);
    listener.close();
  });

  test("leave the room and its members' subscriptions as if sent one after another", async () => {
    const subscriptions = server.parley.services.deps.db.subscriptions;

    const room = await server.parley.services.deps.db.rooms.findOne({ _id: rid });
    const mine = await subscriptions.findOne({ rid, "u._id": member._id });
    const theirs = await subscriptions.findOne({ rid, "u._id": admin._id });

    expect(room).toMatchObject({ msgs: 6, lastMessage: { msg: "x3" } });
    // The member read up to their last message, then the administrator sent one more.
    expect(mine).toMatchObject({ alert: true, open: true, unread: 0 });
    expect(theirs).toMatchObject({ alert: false, open: true, unread: 0 });
    expect((mine?.ls as Date).getTime()).toBeLessThan((room?.lm as Date).getTime());
    expect((theirs?.ls as Date).getTime()).toBeGreaterThanOrEqual((room?.lm as Date).getTime());
  });
});
