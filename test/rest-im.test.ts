import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { User } from "../core/models.ts";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dm: string;

/** Sends `msg` to `roomId` as `userId` through the room's actor; timestamps never tie. */
async function send(roomId: string, userId: string, msg: string): Promise<void> {
  const { db, rooms } = server.parley.services.deps;
  const user = (await db.users.findOne({ _id: userId })) as User;
  const message = await rooms.execute(roomId, { kind: "send", user, draft: { msg } });
  while (Date.now() <= message.ts.getTime()) await new Promise((resolve) => setImmediate(resolve));
}

beforeAll(async () => {
  server = await startTestServer();
  alice = await createUser(server);
  bob = await createUser(server);
  carol = await createUser(server);
  const res = await api(server, "im.create", {
    auth: alice.credentials,
    body: { username: bob.user.username },
  });
  dm = res.body.room._id;
  await send(dm, alice.user._id, "hi bob");
  await send(dm, bob.user._id, `hi @${alice.user.username}`);
});

afterAll(async () => {
  await server.stop();
});

describe("im.create", () => {
  test("answers the direct message with both _id and rid", async () => {
    const res = await api(server, "im.create", {
      auth: carol.credentials,
      body: { username: alice.user.username },
    });

    const uids = [alice.user._id, carol.user._id].sort();
    expect(res.body).toEqual({
      success: true,
      room: {
        _id: uids.join(""),
        rid: uids.join(""),
        t: "d",
        ts: expect.any(String),
        _updatedAt: expect.any(String),
        msgs: 0,
        usersCount: 2,
        usernames: [alice.user.username, carol.user.username].sort(),
        uids,
      },
    });
  });

  test("opens the same room again rather than a second one", async () => {
    const res = await api(server, "im.create", {
      auth: bob.credentials,
      body: { username: alice.user.username },
    });

    expect(res.body.room).toMatchObject({ _id: dm, rid: dm, msgs: 2 });
  });

  test("opens a group DM from a comma-separated list of usernames", async () => {
    const usernames = `${bob.user.username}, ${carol.user.username}`;

    const res = await api(server, "im.create", { auth: alice.credentials, body: { usernames } });

    const expected = [alice.user.username, bob.user.username, carol.user.username].sort();
    expect(res.body.room.usernames).toEqual(expected);
    expect(res.body.room.rid).toBe(res.body.room._id);
  });

  test("requires username or usernames in ajv's oneOf wording", async () => {
    const res = await api(server, "im.create", { auth: alice.credentials, body: {} });

    expect(res.body.error).toBe(
      "must have required property 'usernames'\n must have required property 'username'\n must match exactly one schema in oneOf [invalid-params]",
    );
  });

  test("refuses an unknown user", async () => {
    const res = await api(server, "im.create", {
      auth: alice.credentials,
      body: { username: "ghost" },
    });

    expect(res.body).toMatchObject({ success: false, errorType: "error-invalid-user" });
  });

  test("rejects an operator object as the username", async () => {
    const res = await api(server, "im.create", {
      auth: alice.credentials,
      body: { username: { $regex: "." } },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });

  test("answers under the dm.create alias too", async () => {
    const res = await api(server, "dm.create", {
      auth: bob.credentials,
      body: { username: alice.user.username },
    });

    expect(res.body.room._id).toBe(dm);
  });
});

describe("im.list", () => {
  test("lists the caller's direct messages with paging fields", async () => {
    const res = await api(server, "im.list", { auth: bob.credentials });

    expect(res.body).toMatchObject({ success: true, offset: 0 });
    expect(res.body.ims.map((r: { _id: string }) => r._id)).toContain(dm);
    expect(res.body.count).toBe(res.body.ims.length);
    expect(res.body.total).toBe(res.body.ims.length);
  });
});

describe("im.history and im.messages", () => {
  test("im.history answers the messages newest first", async () => {
    const res = await api(server, "im.history", { auth: alice.credentials, query: { roomId: dm } });

    expect(res.body.messages.map((m: { msg: string }) => m.msg)).toEqual([
      `hi @${alice.user.username}`,
      "hi bob",
    ]);
  });

  test("im.history answers the bare 403 to someone outside the DM", async () => {
    const res = await api(server, "im.history", { auth: carol.credentials, query: { roomId: dm } });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("im.history answers invalid-channel for an id that names nothing", async () => {
    const res = await api(server, "im.history", {
      auth: alice.credentials,
      query: { roomId: "GENERAL" },
    });

    expect(res.body).toEqual({
      success: false,
      error: "[invalid-channel]",
      errorType: "invalid-channel",
    });
  });

  test("im.history requires roomId in ajv's wording", async () => {
    const res = await api(server, "im.history", { auth: alice.credentials });

    expect(res.body.error).toBe("must have required property 'roomId' [invalid-params]");
  });

  test("im.messages finds the DM by the other user's username", async () => {
    const res = await api(server, "im.messages", {
      auth: alice.credentials,
      query: { username: bob.user.username },
    });

    expect(res.body).toMatchObject({ success: true, count: 2, offset: 0, total: 2 });
  });

  test("im.messages keeps only messages that mention the given users", async () => {
    const query = { roomId: dm, mentionIds: alice.user._id };

    const res = await api(server, "im.messages", { auth: bob.credentials, query });

    expect(res.body).toMatchObject({
      count: 1,
      total: 1,
      messages: [{ msg: `hi @${alice.user.username}` }],
    });
  });

  test("im.messages answers the bare 403 to someone outside the DM", async () => {
    const res = await api(server, "im.messages", {
      auth: carol.credentials,
      query: { roomId: dm },
    });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });
});
