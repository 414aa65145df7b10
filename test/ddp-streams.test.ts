/**
 * Stream subscriptions over a real WebSocket: the exact frames of room messages, typing
 * and user events, who may listen to what, and how access ends (unsub, kick).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, eventsSeen, fence, rawFrames, type SeededUser, seedUser } from "./ddp-helpers.ts";
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

const NOT_ALLOWED = {
  isClientSafe: true,
  error: "not-allowed",
  reason: "Not allowed",
  message: "Not allowed [not-allowed]",
  errorType: "Meteor.Error",
};

/** Alice's new private group, with `members` in it; resolves to its id. */
async function group(members: SeededUser[] = []): Promise<string> {
  const name = `streams-${crypto.randomUUID().slice(0, 8)}`;
  const answer = await ddpAlice.call(
    "createPrivateGroup",
    name,
    members.map((m) => m.username),
  );
  return (answer.result as { rid: string }).rid;
}

async function send(client: RawDdp, rid: string, msg: string): Promise<{ _id: string }> {
  const answer = await client.call("sendMessage", { rid, msg });
  if (answer.error) throw new Error(`sendMessage failed: ${JSON.stringify(answer.error)}`);
  return answer.result as { _id: string };
}

function withText(text: string) {
  return (args: unknown[]) => (args[0] as { msg?: string } | undefined)?.msg === text;
}

describe("stream-room-messages", () => {
  test("a new message arrives as a changed frame with its dates as $date", async () => {
    const rid = await group([bob]);
    await ddpBob.sub("stream-room-messages", rid, false);
    const raw = rawFrames(ddpBob);

    const sent = await send(ddpAlice, rid, "frame shape");
    await ddpBob.streamEvent("stream-room-messages", rid, withText("frame shape"));
    const frame = JSON.parse(
      raw.find((f) => f.includes('"collection":"stream-room-messages"')) as string,
    );

    expect(frame).toEqual({
      msg: "changed",
      collection: "stream-room-messages",
      id: "id",
      fields: {
        eventName: rid,
        args: [
          {
            _id: sent._id,
            rid,
            msg: "frame shape",
            ts: { $date: expect.any(Number) },
            u: { _id: alice._id, username: alice.username, name: alice.username },
            _updatedAt: { $date: expect.any(Number) },
            urls: [],
            mentions: [],
            channels: [],
            md: [{ type: "PARAGRAPH", value: [{ type: "PLAIN_TEXT", value: "frame shape" }] }],
          },
        ],
      },
    });
  });

  test("an edited message arrives again with editedAt", async () => {
    const rid = await group([bob]);
    await ddpBob.sub("stream-room-messages", rid, false);
    const sent = await send(ddpAlice, rid, "before edit");

    await ddpAlice.call("updateMessage", { _id: sent._id, rid, msg: "after edit" });
    const [edited] = await ddpBob.streamEvent("stream-room-messages", rid, withText("after edit"));

    expect(edited).toMatchObject({
      _id: sent._id,
      editedAt: expect.any(Date),
      editedBy: { _id: alice._id },
    });
  });

  test("a private group the user is not in is refused with nosub not-allowed", async () => {
    const rid = await group();

    const answer = await ddpBob.sub("stream-room-messages", rid, false);

    expect(answer).toEqual({ msg: "nosub", id: answer.id, error: NOT_ALLOWED });
  });

  test("unsub is answered with nosub and stops the room's messages", async () => {
    const rid = await group([bob]);
    const sub = await ddpBob.sub("stream-room-messages", rid, false);
    const id = (sub.subs as string[])[0];

    ddpBob.send({ msg: "unsub", id });
    const nosub = await ddpBob.waitFor((f) => f.msg === "nosub" && f.id === id);
    await send(ddpAlice, rid, "after unsub");
    await fence(ddpBob);

    expect(nosub).toEqual({ msg: "nosub", id });
    expect(eventsSeen(ddpBob, "stream-room-messages", rid)).toEqual([]);
  });

  test("a kicked member stops receiving the group's messages", async () => {
    const rid = await group([bob]);
    const sub = await ddpBob.sub("stream-room-messages", rid, false);
    const id = (sub.subs as string[])[0];

    await ddpAlice.call("removeUserFromRoom", { rid, username: bob.username });
    const ended = await ddpBob.waitFor((f) => f.msg === "nosub" && f.id === id);
    await send(ddpAlice, rid, "after the kick");
    await fence(ddpBob);

    expect(ended).toEqual({ msg: "nosub", id });
    expect(
      eventsSeen(ddpBob, "stream-room-messages", rid).filter(withText("after the kick")),
    ).toEqual([]);
  });

  test("__my_messages__ carries the rooms the user joins after subscribing", async () => {
    const carol = await seedUser(server, "carol");
    const ddpCarol = await clients.connect(server, carol);
    await ddpCarol.sub("stream-room-messages", "__my_messages__", false);

    const rid = await group();
    await ddpAlice.call("addUsersToRoom", { rid, users: [carol.username] });
    await send(ddpAlice, rid, "for the feed");
    const [message] = await ddpCarol.streamEvent(
      "stream-room-messages",
      "__my_messages__",
      withText("for the feed"),
    );

    expect(message).toMatchObject({ rid, msg: "for the feed", u: { _id: alice._id } });
  });

  test("__my_messages__ stops carrying a group the user was kicked from", async () => {
    const rid = await group([bob]);
    await ddpBob.sub("stream-room-messages", "__my_messages__", false);

    await ddpAlice.call("removeUserFromRoom", { rid, username: bob.username });
    await send(ddpAlice, rid, "feed after kick");
    await fence(ddpBob);

    const feed = eventsSeen(ddpBob, "stream-room-messages", "__my_messages__");
    expect(feed.filter(withText("feed after kick"))).toEqual([]);
  });
});

describe("stream-notify-room", () => {
  test("a deleted message is announced as <rid>/deleteMessage with its id", async () => {
    const rid = await group([bob]);
    await ddpBob.sub("stream-notify-room", `${rid}/deleteMessage`, false);
    const sent = await send(ddpAlice, rid, "to delete");

    await ddpAlice.call("deleteMessage", { _id: sent._id });

    expect(await ddpBob.streamEvent("stream-notify-room", `${rid}/deleteMessage`)).toEqual([
      { _id: sent._id },
    ]);
  });

  test("typing reaches the other members and is not echoed to the typist", async () => {
    const rid = await group([bob]);
    await ddpAlice.sub("stream-notify-room", `${rid}/user-activity`, false);
    await ddpBob.sub("stream-notify-room", `${rid}/user-activity`, false);

    const event = `${rid}/user-activity`;
    const answer = await ddpAlice.call(
      "stream-notify-room",
      event,
      alice.username,
      ["user-typing"],
      {},
    );
    const args = await ddpBob.streamEvent("stream-notify-room", `${rid}/user-activity`);
    await fence(ddpAlice);

    expect(answer).toEqual({ msg: "result", id: answer.id });
    expect(args).toEqual([alice.username, ["user-typing"], {}]);
    expect(eventsSeen(ddpAlice, "stream-notify-room", `${rid}/user-activity`)).toEqual([]);
  });

  test("user-activity is also relayed as the older typing event", async () => {
    const rid = await group([bob]);
    await ddpBob.sub("stream-notify-room", `${rid}/typing`, false);

    await ddpAlice.call(
      "stream-notify-room",
      `${rid}/user-activity`,
      alice.username,
      ["user-typing"],
      {},
    );

    expect(await ddpBob.streamEvent("stream-notify-room", `${rid}/typing`)).toEqual([
      alice.username,
      true,
    ]);
  });

  test("typing under another user's name is refused", async () => {
    const rid = await group([bob]);

    const event = `${rid}/user-activity`;
    const answer = await ddpAlice.call(
      "stream-notify-room",
      event,
      bob.username,
      ["user-typing"],
      {},
    );

    expect(answer.error).toEqual(NOT_ALLOWED);
  });
});

describe("stream-notify-user", () => {
  test("a new room is announced on rooms-changed and subscriptions-changed as inserted", async () => {
    await ddpBob.sub("stream-notify-user", `${bob._id}/rooms-changed`, false);
    await ddpBob.sub("stream-notify-user", `${bob._id}/subscriptions-changed`, false);

    const rid = await group([bob]);
    const aboutRoom = (args: unknown[]) => {
      const doc = args[1] as { _id?: string; rid?: string };
      return doc._id === rid || doc.rid === rid;
    };
    const room = await ddpBob.streamEvent(
      "stream-notify-user",
      `${bob._id}/rooms-changed`,
      aboutRoom,
    );
    const sub = await ddpBob.streamEvent(
      "stream-notify-user",
      `${bob._id}/subscriptions-changed`,
      aboutRoom,
    );

    expect(room).toEqual(["inserted", expect.objectContaining({ _id: rid, t: "p" })]);
    const member = expect.objectContaining({ _id: bob._id });
    expect(sub).toEqual(["inserted", expect.objectContaining({ rid, t: "p", u: member })]);
  });

  test("a direct message raises a notification for its recipient", async () => {
    await ddpBob.sub("stream-notify-user", `${bob._id}/notification`, false);
    const dm = await ddpAlice.call("createDirectMessage", bob.username);
    const rid = (dm.result as { rid: string }).rid;

    const sent = await send(ddpAlice, rid, "psst");
    const [notification] = await ddpBob.streamEvent(
      "stream-notify-user",
      `${bob._id}/notification`,
    );

    expect(notification).toMatchObject({
      title: `@${alice.username}`,
      text: "psst",
      payload: {
        _id: sent._id,
        rid,
        sender: { _id: alice._id, username: alice.username },
        type: "d",
      },
    });
  });

  test("a refused message is explained to its sender on <uid>/message", async () => {
    const name = `ro-${crypto.randomUUID().slice(0, 8)}`;
    const readOnly = await ddpAlice.call("createChannel", name, [bob.username], true);
    const rid = (readOnly.result as { rid: string }).rid;
    await ddpBob.sub("stream-notify-user", `${bob._id}/message`, false);

    await ddpBob.call("sendMessage", { rid, msg: "can I?" });
    const [notice] = await ddpBob.streamEvent("stream-notify-user", `${bob._id}/message`);

    expect(notice).toEqual({
      groupable: false,
      msg: "You can't send messages because the room is readonly.",
      _id: expect.any(String),
      rid,
      ts: expect.any(Date),
    });
  });

  test("another user's events are refused with nosub not-allowed", async () => {
    const answer = await ddpBob.sub("stream-notify-user", `${alice._id}/notification`, false);

    expect(answer).toEqual({ msg: "nosub", id: answer.id, error: NOT_ALLOWED });
  });
});
