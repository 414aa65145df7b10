import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let channel: { _id: string; name: string };
let group: { _id: string; name: string };

async function createRoom(kind: "channels" | "groups", owner: TestUser, members: string[] = []) {
  const name = `disc-${kind}-${crypto.randomUUID().slice(0, 8)}`;
  const res = await api(server, `${kind}.create`, {
    auth: owner.credentials,
    body: { name, members },
  });
  return kind === "channels" ? res.body.channel : res.body.group;
}

function startDiscussion(who: TestUser, body: Record<string, unknown>) {
  return api(server, "rooms.createDiscussion", { auth: who.credentials, body });
}

async function linkingMessage(parent: string, drid: string, who: TestUser = alice) {
  const res = await api(server, "chat.getDiscussions", {
    auth: who.credentials,
    query: { roomId: parent },
  });
  return (res.body.messages as { drid: string }[]).find((m) => m.drid === drid);
}

beforeAll(async () => {
  server = await startTestServer();
  alice = await createUser(server);
  bob = await createUser(server);
  carol = await createUser(server);
  channel = await createRoom("channels", alice, [bob.user.username]);
  group = await createRoom("groups", alice, [bob.user.username]);
});

afterAll(async () => {
  await server.stop();
});

describe("rooms.createDiscussion", () => {
  test("answers the discussion, a room of the parent's kind named after t_name", async () => {
    const res = await startDiscussion(alice, { prid: channel._id, t_name: "Release plan" });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      discussion: {
        rid: res.body.discussion._id,
        inserted: true,
        _id: expect.any(String),
        fname: "Release plan",
        name: expect.stringMatching(/^[0-9A-Za-z]{17}$/),
        t: "c",
        prid: channel._id,
        topic: channel.name,
        encrypted: false,
        msgs: 0,
        usersCount: 1,
        u: { _id: alice.user._id, username: alice.user.username, name: alice.user.username },
        ts: ISO,
        _updatedAt: ISO,
        ro: false,
      },
    });
  });

  test("posts a discussion-created message in the parent that links to it", async () => {
    const res = await startDiscussion(alice, { prid: channel._id, t_name: "Linked" });
    const drid = res.body.discussion._id;

    const link = await linkingMessage(channel._id, drid);

    expect(link).toMatchObject({
      t: "discussion-created",
      rid: channel._id,
      msg: "Linked",
      drid,
      u: { _id: alice.user._id, username: alice.user.username },
    });
  });

  test("makes the discussion of a private group private too", async () => {
    const res = await startDiscussion(alice, { prid: group._id, t_name: "Quiet" });

    expect(res.body.discussion).toMatchObject({ t: "p", prid: group._id });
  });

  test("is readable by the parent's members, invited or not, and by nobody else", async () => {
    const res = await startDiscussion(alice, { prid: group._id, t_name: "Members only" });
    const roomId = res.body.discussion._id;

    const member = await api(server, "rooms.info", { auth: bob.credentials, query: { roomId } });
    const outsider = await api(server, "rooms.info", {
      auth: carol.credentials,
      query: { roomId },
    });

    expect(member.body.room).toMatchObject({ _id: roomId, prid: group._id, t: "p" });
    expect(outsider.body.errorType).toBe("error-room-not-found");
  });

  test("subscribes the invited users and the reply's room sees the reply", async () => {
    const res = await startDiscussion(alice, {
      prid: channel._id,
      t_name: "With people",
      users: [bob.user.username, "nobody-by-this-name"],
      reply: "first words",
    });
    const drid = res.body.discussion._id;

    const sub = await api(server, "subscriptions.getOne", {
      auth: bob.credentials,
      query: { roomId: drid },
    });
    const history = await api(server, "channels.history", {
      auth: alice.credentials,
      query: { roomId: drid },
    });
    expect(sub.body.subscription).toMatchObject({
      rid: drid,
      prid: channel._id,
      fname: "With people",
    });
    expect(history.body.messages.map((m: { msg: string }) => m.msg)).toEqual(["first words"]);
  });

  test("started from a message, quotes it and marks it with the discussion", async () => {
    const posted = await api(server, "chat.postMessage", {
      auth: bob.credentials,
      body: { roomId: channel._id, text: "shall we talk about it?" },
    });
    const pmid = posted.body.message._id;

    const res = await startDiscussion(alice, { prid: channel._id, t_name: "About it", pmid });
    const drid = res.body.discussion._id;

    const parent = await api(server, "chat.getMessage", {
      auth: alice.credentials,
      query: { msgId: pmid },
    });
    const link = await linkingMessage(channel._id, drid);
    expect(res.body.discussion).toMatchObject({
      usersCount: 2,
      description: "shall we talk about it?",
    });
    expect(parent.body.message).toMatchObject({ drid });
    expect(link).toMatchObject({
      attachments: [
        {
          text: "shall we talk about it?",
          authorName: bob.user.username,
          message_link: `/channel/${channel.name}?msg=${pmid}`,
        },
      ],
    });
  });

  test("joins the caller to the discussion a message already has rather than making another", async () => {
    const posted = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { roomId: channel._id, text: "one discussion only" },
    });
    const pmid = posted.body.message._id;
    const first = await startDiscussion(alice, { prid: channel._id, t_name: "Once", pmid });

    const second = await startDiscussion(carol, { prid: channel._id, t_name: "Twice", pmid });

    expect(second.body.discussion._id).toBe(first.body.discussion._id);
    const sub = await api(server, "subscriptions.getOne", {
      auth: carol.credentials,
      query: { roomId: first.body.discussion._id },
    });
    expect(sub.body.subscription).toMatchObject({ rid: first.body.discussion._id });
  });

  test("requires prid in Rocket.Chat's words", async () => {
    const res = await startDiscussion(alice, { t_name: "x" });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: 'Body parameter "prid" is required.' });
  });

  test("requires t_name in Rocket.Chat's words", async () => {
    const res = await startDiscussion(alice, { prid: channel._id });

    expect(res.body).toEqual({ success: false, error: 'Body parameter "t_name" is required.' });
  });

  test("refuses users that are not an array", async () => {
    const res = await startDiscussion(alice, { prid: channel._id, t_name: "x", users: "bob" });

    expect(res.body).toEqual({ success: false, error: 'Body parameter "users" must be an array.' });
  });

  test("answers error-invalid-room for a parent that does not exist", async () => {
    const res = await startDiscussion(alice, { prid: "no-such-room", t_name: "x" });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "[error-invalid-room]",
      errorType: "error-invalid-room",
    });
  });

  test("answers a private group's outsider as if the group did not exist", async () => {
    const res = await startDiscussion(carol, { prid: group._id, t_name: "peek" });

    expect(res.body.errorType).toBe("error-invalid-room");
  });

  test("answers error-invalid-message for an unknown pmid", async () => {
    const res = await startDiscussion(alice, { prid: channel._id, t_name: "x", pmid: "nope" });

    expect(res.body).toEqual({
      success: false,
      error: "Invalid message [error-invalid-message]",
      errorType: "error-invalid-message",
      details: { method: "DiscussionCreation" },
    });
  });

  test("refuses a discussion inside a discussion", async () => {
    const outer = await startDiscussion(alice, { prid: channel._id, t_name: "Outer" });

    const res = await startDiscussion(alice, { prid: outer.body.discussion._id, t_name: "In" });

    expect(res.body).toMatchObject({
      errorType: "error-nested-discussion",
      error: "Cannot create nested discussions [error-nested-discussion]",
    });
  });
});

describe("discussion counters on the parent", () => {
  test("follow every message posted in the discussion, with the last one's time", async () => {
    const res = await startDiscussion(alice, { prid: channel._id, t_name: "Counted" });
    const drid = res.body.discussion._id;

    let last: { ts: string } = { ts: "" };
    for (const text of ["one", "two", "three"]) {
      const posted = await api(server, "chat.postMessage", {
        auth: alice.credentials,
        body: { roomId: drid, text },
      });
      last = posted.body.message;
    }

    expect(await linkingMessage(channel._id, drid)).toMatchObject({ dcount: 3, dlm: last.ts });
  });

  test("stay exact when many messages arrive at once", async () => {
    const res = await startDiscussion(alice, {
      prid: channel._id,
      t_name: "Busy",
      users: [bob.user.username],
    });
    const drid = res.body.discussion._id;

    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api(server, "chat.postMessage", {
          auth: i % 2 ? alice.credentials : bob.credentials,
          body: { roomId: drid, text: `burst ${i}` },
        }),
      ),
    );

    const room = await api(server, "rooms.info", {
      auth: alice.credentials,
      query: { roomId: drid },
    });
    const link = await linkingMessage(channel._id, drid);
    expect(room.body.room.msgs).toBe(12);
    expect(link).toMatchObject({ dcount: 12, dlm: room.body.room.lm });
  });

  test("go down when a message of the discussion is deleted", async () => {
    const res = await startDiscussion(alice, { prid: channel._id, t_name: "Shrinking" });
    const drid = res.body.discussion._id;
    const posted = await api(server, "chat.postMessage", {
      auth: alice.credentials,
      body: { roomId: drid, text: "soon gone" },
    });

    await api(server, "chat.delete", {
      auth: alice.credentials,
      body: { roomId: drid, msgId: posted.body.message._id },
    });

    expect(await linkingMessage(channel._id, drid)).toMatchObject({ dcount: 0 });
  });
});

describe("rooms.getDiscussions", () => {
  test("lists a room's discussions by name with the paging fields", async () => {
    const room = await createRoom("channels", alice);
    await startDiscussion(alice, { prid: room._id, t_name: "beta" });
    await startDiscussion(alice, { prid: room._id, t_name: "alpha" });

    const res = await api(server, "rooms.getDiscussions", {
      auth: alice.credentials,
      query: { roomId: room._id },
    });

    expect(res.body).toMatchObject({ success: true, count: 2, offset: 0, total: 2 });
    expect(res.body.discussions.map((d: { fname: string }) => d.fname)).toEqual(["alpha", "beta"]);
  });

  test("filters by text in the discussion's name", async () => {
    const room = await createRoom("channels", alice);
    await startDiscussion(alice, { prid: room._id, t_name: "Budget review" });
    await startDiscussion(alice, { prid: room._id, t_name: "Hiring" });

    const res = await api(server, "rooms.getDiscussions", {
      auth: alice.credentials,
      query: { roomId: room._id, text: "budget" },
    });

    expect(res.body.discussions.map((d: { fname: string }) => d.fname)).toEqual(["Budget review"]);
  });

  test("requires roomId or roomName in Rocket.Chat's words", async () => {
    const res = await api(server, "rooms.getDiscussions", { auth: alice.credentials });

    expect(res.body).toEqual({
      success: false,
      error: 'The parameter "roomId" or "roomName" is required [error-roomid-param-not-provided]',
      errorType: "error-roomid-param-not-provided",
    });
  });

  test("answers a private group's outsider as if the group did not exist", async () => {
    const res = await api(server, "rooms.getDiscussions", {
      auth: carol.credentials,
      query: { roomId: group._id },
    });

    expect(res.body.errorType).toBe("error-room-not-found");
  });
});

describe("chat.getDiscussions", () => {
  test("lists the linking messages whose text contains the filter, ignoring case", async () => {
    const room = await createRoom("channels", alice);
    await startDiscussion(alice, { prid: room._id, t_name: "Message to create discussion" });
    await startDiscussion(alice, { prid: room._id, t_name: "Another topic" });

    const res = await api(server, "chat.getDiscussions", {
      auth: alice.credentials,
      query: { roomId: room._id, text: "CREATE" },
    });

    expect(res.body).toMatchObject({ success: true, count: 1, offset: 0, total: 1 });
    expect(res.body.messages[0].msg).toBe("Message to create discussion");
  });

  test("requires roomId in ajv's wording", async () => {
    const res = await api(server, "chat.getDiscussions", { auth: alice.credentials });

    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'roomId' [invalid-params]",
      errorType: "invalid-params",
    });
  });

  test("answers error-not-allowed to someone who cannot read the room", async () => {
    const res = await api(server, "chat.getDiscussions", {
      auth: carol.credentials,
      query: { roomId: group._id },
    });

    expect(res.body).toEqual({ success: false, error: "error-not-allowed" });
  });
});
