import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { User } from "../core/models.ts";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let guest: TestUser;
let rid: string;
const sent: string[] = [];

/** Sends `msg` to `roomId` as `userId` through the room's actor, the way every sender does. */
async function send(roomId: string, userId: string, msg: string): Promise<string> {
  const { db, rooms } = server.parley.services.deps;
  const user = (await db.users.findOne({ _id: userId })) as User;
  const message = await rooms.execute(roomId, { kind: "send", user, draft: { msg } });
  // The next message must carry a later timestamp, or "newest first" would be a tie.
  while (Date.now() <= message.ts.getTime()) await new Promise((resolve) => setImmediate(resolve));
  return message._id;
}

beforeAll(async () => {
  server = await startTestServer();
  alice = await createUser(server, { name: "Alice Liddell" });
  bob = await createUser(server, { name: "Bob Builder" });
  guest = await createUser(server, { roles: ["guest"] });
  const res = await api(server, "channels.create", {
    auth: server.admin,
    body: { name: "reading-room", members: [alice.user.username, bob.user.username] },
  });
  rid = res.body.channel._id;
  sent.push(await send(rid, alice.user._id, "first"));
  sent.push(await send(rid, bob.user._id, `hello @${alice.user.username}`));
  sent.push(await send(rid, alice.user._id, "third"));
});

afterAll(async () => {
  await server.stop();
});

describe("channels.history", () => {
  test("answers the messages newest first", async () => {
    const res = await api(server, "channels.history", {
      auth: bob.credentials,
      query: { roomId: rid },
    });

    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["messages", "success"]);
    expect(res.body.messages.map((m: { _id: string }) => m._id)).toEqual([...sent].reverse());
  });

  test("pages with count and offset", async () => {
    const res = await api(server, "channels.history", {
      auth: bob.credentials,
      query: { roomId: rid, count: "1", offset: "1" },
    });

    expect(res.body.messages.map((m: { _id: string }) => m._id)).toEqual([sent[1]]);
  });

  test("keeps to the window between oldest and latest", async () => {
    const all = await api(server, "channels.history", {
      auth: bob.credentials,
      query: { roomId: rid },
    });
    const [third, second, first] = all.body.messages as { _id: string; ts: string }[];

    const query = { roomId: rid, oldest: first?.ts as string, latest: third?.ts as string };
    const res = await api(server, "channels.history", { auth: bob.credentials, query });

    expect(res.body.messages.map((m: { _id: string }) => m._id)).toEqual([second?._id]);
  });

  test("is readable by a non-member who may view public channels", async () => {
    const outsider = await createUser(server, { joinDefaultChannels: false });

    const res = await api(server, "channels.history", {
      auth: outsider.credentials,
      query: { roomName: "reading-room" },
    });

    expect(res.body.messages).toHaveLength(3);
  });

  test("answers the bare 403 to a non-member who may not view public channels", async () => {
    const res = await api(server, "channels.history", {
      auth: guest.credentials,
      query: { roomId: rid },
    });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("rejects a flag that is neither true nor false", async () => {
    const res = await api(server, "channels.history", {
      auth: bob.credentials,
      query: { roomId: rid, inclusive: "yes" },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });

  test("rejects a date that does not parse", async () => {
    const res = await api(server, "channels.history", {
      auth: bob.credentials,
      query: { roomId: rid, latest: "soon" },
    });

    expect(res.body).toMatchObject({ success: false, errorType: "error-invalid-date" });
  });
});

describe("channels.messages", () => {
  test("answers a page with count, offset and total", async () => {
    const res = await api(server, "channels.messages", {
      auth: bob.credentials,
      query: { roomId: rid, count: "2" },
    });

    expect(res.body).toMatchObject({ success: true, count: 2, offset: 0, total: 3 });
    expect(res.body.messages.map((m: { _id: string }) => m._id)).toEqual([sent[2], sent[1]]);
  });

  test("keeps only messages that mention the given users", async () => {
    const res = await api(server, "channels.messages", {
      auth: bob.credentials,
      query: { roomId: rid, mentionIds: alice.user._id },
    });

    expect(res.body).toMatchObject({ count: 1, total: 1, messages: [{ _id: sent[1] }] });
  });

  test("follows a sort given as JSON", async () => {
    const res = await api(server, "channels.messages", {
      auth: bob.credentials,
      query: { roomId: rid, sort: '{"ts":1}' },
    });

    expect(res.body.messages.map((m: { _id: string }) => m._id)).toEqual(sent);
  });

  test("requires roomId in ajv's wording", async () => {
    const res = await api(server, "channels.messages", {
      auth: bob.credentials,
      query: { roomName: "reading-room" },
    });

    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'roomId' [invalid-params]",
      errorType: "invalid-params",
    });
  });

  test("refuses a caller without view-c-room", async () => {
    const res = await api(server, "channels.messages", {
      auth: guest.credentials,
      query: { roomId: rid },
    });

    expect(res.status).toBe(403);
    expect(res.body.error).toBe(
      "User does not have the permissions required for this action [error-unauthorized]",
    );
  });
});

describe("channels.members", () => {
  test("lists the active members with their public fields", async () => {
    const res = await api(server, "channels.members", {
      auth: bob.credentials,
      query: { roomId: rid },
    });

    expect(res.body).toMatchObject({ success: true, count: 3, offset: 0, total: 3 });
    expect(res.body.members).toContainEqual({
      _id: alice.user._id,
      name: "Alice Liddell",
      username: alice.user.username,
      status: "offline",
      _updatedAt: expect.any(String),
    });
  });

  test("keeps members whose name contains the filter, ignoring case", async () => {
    const res = await api(server, "channels.members", {
      auth: bob.credentials,
      query: { roomId: rid, filter: "BUILDER" },
    });

    expect(res.body).toMatchObject({ count: 1, total: 1, members: [{ _id: bob.user._id }] });
  });

  test("pages through members", async () => {
    const res = await api(server, "channels.members", {
      auth: bob.credentials,
      query: { roomId: rid, count: "1", offset: "2" },
    });

    expect(res.body).toMatchObject({ count: 1, offset: 2, total: 3 });
  });

  test("treats a filter as text, not as a pattern", async () => {
    const res = await api(server, "channels.members", {
      auth: bob.credentials,
      query: { roomId: rid, filter: ".*" },
    });

    expect(res.body).toMatchObject({ count: 0, total: 0, members: [] });
  });
});
