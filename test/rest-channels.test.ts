import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let guest: TestUser;
let counter = 0;

/** Creates a channel owned by the admin and answers its id. */
async function newChannel(members: string[] = []): Promise<string> {
  counter += 1;
  const res = await api(server, "channels.create", {
    auth: server.admin,
    body: { name: `chan-${counter}`, members },
  });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.channel._id;
}

/** The system message types of a channel's history, newest first. */
async function historyTypes(roomId: string): Promise<(string | undefined)[]> {
  const res = await api(server, "channels.history", { auth: server.admin, query: { roomId } });
  return res.body.messages.map((m: { t?: string }) => m.t);
}

beforeAll(async () => {
  server = await startTestServer();
  alice = await createUser(server);
  bob = await createUser(server);
  guest = await createUser(server, { roles: ["guest"] });
});

afterAll(async () => {
  await server.stop();
});

describe("channels.create", () => {
  test("answers the new channel with no messages yet", async () => {
    const res = await api(server, "channels.create", {
      auth: server.admin,
      body: { name: "town-square", members: [alice.user.username], readOnly: true },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      channel: {
        _id: expect.any(String),
        t: "c",
        name: "town-square",
        fname: "town-square",
        u: { _id: "rocketchat.internal.admin.test", username: "rocketchat.internal.admin.test" },
        ts: expect.any(String),
        _updatedAt: expect.any(String),
        msgs: 0,
        usersCount: 2,
        ro: true,
        default: false,
        sysMes: true,
      },
    });
  });

  test("answers the bare 403 to a caller without create-c", async () => {
    const res = await api(server, "channels.create", {
      auth: guest.credentials,
      body: { name: "guest-room" },
    });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("requires a name with Rocket.Chat's plain message", async () => {
    const res = await api(server, "channels.create", { auth: server.admin, body: {} });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: 'Param "name" is required' });
  });

  test("refuses a name another room has", async () => {
    const res = await api(server, "channels.create", {
      auth: server.admin,
      body: { name: "general" },
    });

    expect(res.body).toMatchObject({ success: false, errorType: "error-duplicate-channel-name" });
  });

  test("refuses a name the system reserves", async () => {
    const res = await api(server, "channels.create", {
      auth: server.admin,
      body: { name: "admin" },
    });

    expect(res.body.error).toBe("admin is not a valid room name. [error-invalid-room-name]");
  });

  test("rejects an operator object as the name", async () => {
    const res = await api(server, "channels.create", {
      auth: server.admin,
      body: { name: { $gt: "" } },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });
});

describe("channels.info", () => {
  test("finds a channel by name", async () => {
    const res = await api(server, "channels.info", {
      auth: alice.credentials,
      query: { roomName: "general" },
    });

    expect(res.body).toMatchObject({
      success: true,
      channel: { _id: "GENERAL", name: "general", t: "c" },
    });
  });

  test("answers error-room-not-found for an unknown room", async () => {
    const res = await api(server, "channels.info", {
      auth: alice.credentials,
      query: { roomId: "nope" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        'The required "roomId" or "roomName" param provided does not match any channel [error-room-not-found]',
      errorType: "error-room-not-found",
    });
  });

  test("answers error-room-not-found when no room is named", async () => {
    const res = await api(server, "channels.info", { auth: alice.credentials });

    expect(res.body.errorType).toBe("error-room-not-found");
  });

  test("answers 401 to a caller who is not logged in", async () => {
    const res = await api(server, "channels.info", { query: { roomId: "GENERAL" } });

    expect(res.status).toBe(401);
    expect(res.body.message).toBe("You must be logged in to do this.");
  });
});

describe("membership", () => {
  test("joining adds a uj message and bumps msgs", async () => {
    const rid = await newChannel();

    const res = await api(server, "channels.join", {
      auth: alice.credentials,
      body: { roomId: rid },
    });

    expect(res.body.channel).toMatchObject({ _id: rid, msgs: 1, usersCount: 2 });
    expect(await historyTypes(rid)).toEqual(["uj"]);
  });

  test("inviting adds an au message naming the invited user", async () => {
    const rid = await newChannel();

    const res = await api(server, "channels.invite", {
      auth: server.admin,
      body: { roomId: rid, userId: bob.user._id },
    });

    expect(res.body.channel).toMatchObject({ msgs: 1, usersCount: 2 });
    const history = await api(server, "channels.history", {
      auth: server.admin,
      query: { roomId: rid },
    });
    expect(history.body.messages[0]).toMatchObject({
      t: "au",
      msg: bob.user.username,
      u: { _id: server.admin.userId },
    });
  });

  test("kicking adds an ru message and bumps msgs", async () => {
    const rid = await newChannel([bob.user.username]);

    const res = await api(server, "channels.kick", {
      auth: server.admin,
      body: { roomId: rid, userId: bob.user._id },
    });

    expect(res.body.channel).toMatchObject({ msgs: 1, usersCount: 1 });
    expect(await historyTypes(rid)).toEqual(["ru"]);
  });

  test("leaving adds a ul message and bumps msgs", async () => {
    const rid = await newChannel([alice.user.username]);

    const res = await api(server, "channels.leave", {
      auth: alice.credentials,
      body: { roomName: `chan-${counter}` },
    });

    expect(res.body.channel).toMatchObject({ _id: rid, msgs: 1, usersCount: 1 });
    expect(await historyTypes(rid)).toEqual(["ul"]);
  });

  test("a member without remove-user cannot kick", async () => {
    const rid = await newChannel([alice.user.username, bob.user.username]);

    const res = await api(server, "channels.kick", {
      auth: alice.credentials,
      body: { roomId: rid, userId: bob.user._id },
    });

    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "removeUserFromRoom" },
    });
  });

  test("joining an unknown channel answers error-room-not-found", async () => {
    const res = await api(server, "channels.join", {
      auth: alice.credentials,
      body: { roomId: "invalid" },
    });

    expect(res.body.errorType).toBe("error-room-not-found");
  });

  test("joining requires roomId or roomName in ajv's oneOf wording", async () => {
    const res = await api(server, "channels.join", { auth: alice.credentials, body: {} });

    expect(res.body.error).toBe(
      "must have required property 'roomId'\n must have required property 'roomName'\n must match exactly one schema in oneOf [invalid-params]",
    );
  });

  test("inviting without naming anyone is refused", async () => {
    const rid = await newChannel();

    const res = await api(server, "channels.invite", { auth: server.admin, body: { roomId: rid } });

    expect(res.body.error).toBe(
      'Please provide "userId" or "username" or "userIds" or "usernames" as param [error-users-params-not-provided]',
    );
  });

  test("kicking rejects an operator object as the user id", async () => {
    const rid = await newChannel([bob.user.username]);

    const res = await api(server, "channels.kick", {
      auth: server.admin,
      body: { roomId: rid, userId: { $ne: "" } },
    });

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("invalid-params");
  });
});

describe("channels.list and channels.list.joined", () => {
  test("filters channels by _id", async () => {
    const rid = await newChannel();

    const res = await api(server, "channels.list", {
      auth: alice.credentials,
      query: { _id: rid },
    });

    expect(res.body).toMatchObject({
      success: true,
      count: 1,
      offset: 0,
      total: 1,
      channels: [{ _id: rid }],
    });
  });

  test("pages through channels by name", async () => {
    const all = await api(server, "channels.list", {
      auth: alice.credentials,
      query: { count: "100" },
    });
    const page = await api(server, "channels.list", {
      auth: alice.credentials,
      query: { count: "2", offset: "1" },
    });

    const names = all.body.channels.map((c: { name: string }) => c.name);
    expect(names).toEqual([...names].sort());
    expect(page.body.channels.map((c: { name: string }) => c.name)).toEqual(names.slice(1, 3));
    expect(page.body).toMatchObject({ count: 2, offset: 1, total: all.body.total });
  });

  test("refuses a user who may view neither channels nor joined rooms", async () => {
    const roleless = await createUser(server, { roles: [], joinDefaultChannels: false });

    const res = await api(server, "channels.list", { auth: roleless.credentials });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      success: false,
      error: "User does not have the permissions required for this action [error-unauthorized]",
    });
  });

  test("lists only the channels the caller joined", async () => {
    const carol = await createUser(server);
    const rid = await newChannel([carol.user.username]);
    await newChannel();

    const res = await api(server, "channels.list.joined", { auth: carol.credentials });

    const ids = res.body.channels.map((c: { _id: string }) => c._id);
    expect(ids.sort()).toEqual(["GENERAL", rid].sort());
    expect(res.body).toMatchObject({ success: true, count: 2, offset: 0, total: 2 });
  });
});
