import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { User } from "../core/models.ts";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

const NOT_FOUND = {
  success: false,
  error:
    'The required "roomId" or "roomName" param provided does not match any group [error-room-not-found]',
  errorType: "error-room-not-found",
};

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let eve: TestUser;
let rid: string;
let counter = 0;

/** Sends `msg` to `roomId` as `userId` through the room's actor; timestamps never tie. */
async function send(roomId: string, userId: string, msg: string): Promise<void> {
  const { db, rooms } = server.parley.services.deps;
  const user = (await db.users.findOne({ _id: userId })) as User;
  const message = await rooms.execute(roomId, { kind: "send", user, draft: { msg } });
  while (Date.now() <= message.ts.getTime()) await new Promise((resolve) => setImmediate(resolve));
}

/** Creates a private group owned by alice, with `members`, and answers its id. */
async function newGroup(members: string[] = []): Promise<string> {
  counter += 1;
  const res = await api(server, "groups.create", {
    auth: alice.credentials,
    body: { name: `group-${counter}`, members },
  });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.group._id;
}

beforeAll(async () => {
  server = await startTestServer();
  alice = await createUser(server);
  bob = await createUser(server);
  eve = await createUser(server);
  rid = await newGroup([bob.user.username]);
  await send(rid, alice.user._id, "only for members");
});

afterAll(async () => {
  await server.stop();
});

describe("groups.create", () => {
  test("answers the new private group", async () => {
    const res = await api(server, "groups.create", {
      auth: alice.credentials,
      body: { name: "hideout" },
    });

    expect(res.body).toEqual({
      success: true,
      group: {
        _id: expect.any(String),
        t: "p",
        name: "hideout",
        fname: "hideout",
        u: { _id: alice.user._id, username: alice.user.username },
        ts: expect.any(String),
        _updatedAt: expect.any(String),
        msgs: 0,
        usersCount: 1,
        ro: false,
        default: false,
        sysMes: true,
      },
    });
  });

  test("requires a name with Rocket.Chat's plain message", async () => {
    const res = await api(server, "groups.create", {
      auth: alice.credentials,
      body: { members: [] },
    });

    expect(res.body).toEqual({ success: false, error: 'Body param "name" is required' });
  });

  test("refuses a caller without create-p with error-not-allowed", async () => {
    const guest = await createUser(server, { roles: ["guest"] });

    const res = await api(server, "groups.create", {
      auth: guest.credentials,
      body: { name: "guest-group" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "createPrivateGroup" },
    });
  });

  test("rejects an operator object among the members", async () => {
    const res = await api(server, "groups.create", {
      auth: alice.credentials,
      body: { name: "x", members: [{ $ne: 1 }] },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });
});

describe("a non-member reads nothing of a private group", () => {
  test.each(["groups.info", "groups.history", "groups.messages", "groups.members"])(
    "%s answers as for a group that does not exist",
    async (route) => {
      const res = await api(server, route, { auth: eve.credentials, query: { roomId: rid } });

      expect(res.status).toBe(400);
      expect(res.body).toEqual(NOT_FOUND);
    },
  );

  test("not even an administrator who is not a member", async () => {
    const res = await api(server, "groups.history", {
      auth: server.admin,
      query: { roomName: `group-1` },
    });

    expect(res.body).toEqual(NOT_FOUND);
  });

  test("a non-member cannot invite into the group", async () => {
    const res = await api(server, "groups.invite", {
      auth: eve.credentials,
      body: { roomId: rid, userId: eve.user._id },
    });

    expect(res.body).toEqual(NOT_FOUND);
  });

  test("a non-member inviting only unknown users learns nothing of the group", async () => {
    const res = await api(server, "groups.invite", {
      auth: eve.credentials,
      body: { roomName: "group-1", usernames: ["nobody-at-all"] },
    });

    expect(res.body).toEqual(NOT_FOUND);
  });

  test("a non-member cannot kick from the group", async () => {
    const res = await api(server, "groups.kick", {
      auth: eve.credentials,
      body: { roomId: rid, userId: bob.user._id },
    });

    expect(res.body).toEqual(NOT_FOUND);
  });

  test("groups.list leaves out groups the caller is not in", async () => {
    const res = await api(server, "groups.list", { auth: eve.credentials });

    expect(res.body).toEqual({ success: true, groups: [], offset: 0, count: 0, total: 0 });
  });
});

describe("members read their group", () => {
  test("groups.info answers the group by name", async () => {
    const res = await api(server, "groups.info", {
      auth: bob.credentials,
      query: { roomName: "group-1" },
    });

    expect(res.body).toMatchObject({
      success: true,
      group: { _id: rid, t: "p", msgs: 1, usersCount: 2 },
    });
  });

  test("groups.history answers the messages", async () => {
    const res = await api(server, "groups.history", {
      auth: bob.credentials,
      query: { roomId: rid },
    });

    expect(res.body.messages.map((m: { msg: string }) => m.msg)).toEqual(["only for members"]);
  });

  test("groups.history counts 20 messages by default", async () => {
    const busy = await newGroup();
    for (let i = 0; i < 22; i++) await send(busy, alice.user._id, `message ${i}`);

    const res = await api(server, "groups.history", {
      auth: alice.credentials,
      query: { roomId: busy },
    });

    expect(res.body.messages).toHaveLength(20);
    expect(res.body.messages[0].msg).toBe("message 21");
  });

  test("groups.messages refuses roomId and roomName together", async () => {
    const query = { roomId: rid, roomName: "group-1" };

    const res = await api(server, "groups.messages", { auth: bob.credentials, query });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });

  test("groups.members lists both members", async () => {
    const res = await api(server, "groups.members", {
      auth: bob.credentials,
      query: { roomId: rid },
    });

    const ids = res.body.members.map((m: { _id: string }) => m._id).sort();
    expect(ids).toEqual([alice.user._id, bob.user._id].sort());
    expect(res.body).toMatchObject({ count: 2, offset: 0, total: 2 });
  });

  test("naming no group answers error-room-param-not-provided", async () => {
    const res = await api(server, "groups.info", { auth: bob.credentials });

    expect(res.body).toEqual({
      success: false,
      error: 'The parameter "roomId" or "roomName" is required [error-room-param-not-provided]',
      errorType: "error-room-param-not-provided",
    });
  });
});

describe("membership of a group", () => {
  test("inviting adds an au message and bumps msgs", async () => {
    const gid = await newGroup();

    const res = await api(server, "groups.invite", {
      auth: alice.credentials,
      body: { roomId: gid, userId: bob.user._id },
    });

    expect(res.body.group).toMatchObject({ _id: gid, msgs: 1, usersCount: 2 });
    const history = await api(server, "groups.history", {
      auth: bob.credentials,
      query: { roomId: gid },
    });
    expect(history.body.messages).toEqual([
      expect.objectContaining({
        t: "au",
        msg: bob.user.username,
        u: expect.objectContaining({ _id: alice.user._id }),
      }),
    ]);
  });

  test("kicking answers success alone and adds an ru message", async () => {
    const gid = await newGroup([bob.user.username]);

    const res = await api(server, "groups.kick", {
      auth: alice.credentials,
      body: { roomId: gid, userId: bob.user._id },
    });

    expect(res.body).toEqual({ success: true });
    const history = await api(server, "groups.history", {
      auth: alice.credentials,
      query: { roomId: gid },
    });
    expect(history.body.messages.map((m: { t?: string }) => m.t)).toEqual(["ru"]);
  });

  test("a kicked member can no longer read the group", async () => {
    const gid = await newGroup([bob.user.username]);
    await api(server, "groups.kick", {
      auth: alice.credentials,
      body: { roomId: gid, userId: bob.user._id },
    });

    const res = await api(server, "groups.history", {
      auth: bob.credentials,
      query: { roomId: gid },
    });

    expect(res.body).toEqual(NOT_FOUND);
  });

  test("inviting only unknown users is refused", async () => {
    const res = await api(server, "groups.invite", {
      auth: alice.credentials,
      body: { roomId: rid, userIds: ["nobody"] },
    });

    expect(res.body.error).toBe(
      "Cannot invite if no valid users are provided [error-empty-invite-list]",
    );
  });
});
