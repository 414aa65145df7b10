import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type Credentials, createUser, startTestServer, type TestServer } from "./helpers.ts";

type TestUser = { user: { _id: string; username: string }; credentials: Credentials };

let server: TestServer;
let zoe: TestUser;
let adam: TestUser;
let mia: TestUser;
let outsider: TestUser;

async function setSetting(id: string, value: unknown): Promise<void> {
  const { db } = server.parley.services.deps;
  await db.settings.updateOne({ _id: id }, { $set: { value } });
  await server.parley.services.settings.reload();
}

function openDm(who: TestUser, body: Record<string, unknown>) {
  return api(server, "im.create", { auth: who.credentials, body });
}

async function subscription(who: TestUser, rid: string) {
  const res = await api(server, "subscriptions.getOne", {
    auth: who.credentials,
    query: { roomId: rid },
  });
  return res.body.subscription;
}

beforeAll(async () => {
  server = await startTestServer();
  const tag = crypto.randomUUID().slice(0, 6);
  // Display names sort differently from usernames: Rocket.Chat orders members by name.
  zoe = await createUser(server, { username: `a.${tag}.zoe`, name: "Zoe Zeta" });
  adam = await createUser(server, { username: `z.${tag}.adam`, name: "Adam Alpha" });
  mia = await createUser(server, { username: `m.${tag}.mia`, name: "Mia Mu" });
  outsider = await createUser(server, { username: `o.${tag}.out`, name: "Otto Out" });
});

afterAll(async () => {
  await server.stop();
});

describe("group direct messages", () => {
  test("list their members by display name and name each subscription after the others", async () => {
    const res = await openDm(zoe, { usernames: `${adam.user.username},${mia.user.username}` });
    const rid = res.body.room._id;

    expect(res.body.room).toMatchObject({
      rid,
      t: "d",
      usersCount: 3,
      usernames: [adam.user.username, mia.user.username, zoe.user.username],
      uids: [adam.user._id, mia.user._id, zoe.user._id].sort(),
    });
    expect(await subscription(zoe, rid)).toMatchObject({
      name: `${adam.user.username}, ${mia.user.username}`,
      fname: "Adam Alpha, Mia Mu",
      open: true,
    });
    expect(await subscription(adam, rid)).toMatchObject({
      name: `${mia.user.username}, ${zoe.user.username}`,
      fname: "Mia Mu, Zoe Zeta",
      open: true,
    });
  });

  test("are found again whoever opens them and in whatever order", async () => {
    const first = await openDm(zoe, { usernames: `${adam.user.username},${mia.user.username}` });

    const again = await openDm(mia, { usernames: `${zoe.user.username}, ${adam.user.username}` });

    expect(again.body.room._id).toBe(first.body.room._id);
  });

  test("refuse more members than DirectMesssage_maxUsers allows", async () => {
    await setSetting("DirectMesssage_maxUsers", 3);
    const usernames = [adam, mia, outsider].map((u) => u.user.username).join(",");

    const res = await openDm(zoe, { usernames }).finally(() =>
      setSetting("DirectMesssage_maxUsers", 8),
    );

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        "You cannot add more than 3 users, including yourself to a direct message [error-direct-message-max-user-exceeded]",
      errorType: "error-direct-message-max-user-exceeded",
      details: { method: "createDirectRoom" },
    });
  });
});

describe("one-to-one direct messages", () => {
  test("open for the caller at once and for the peer with the first message", async () => {
    const res = await openDm(outsider, { username: mia.user.username });
    const rid = res.body.room._id;
    const before = await subscription(mia, rid);

    await api(server, "chat.postMessage", {
      auth: outsider.credentials,
      body: { roomId: rid, text: "hello" },
    });

    expect(await subscription(outsider, rid)).toMatchObject({ open: true });
    expect(before).toMatchObject({ open: false, name: outsider.user.username, fname: "Otto Out" });
    expect(await subscription(mia, rid)).toMatchObject({ open: true, unread: 1 });
  });
});

describe("direct messages with oneself", () => {
  test("are a room of one with an id of its own, named after its member", async () => {
    const res = await openDm(adam, { username: adam.user.username });
    const rid = res.body.room._id;

    expect(rid).not.toBe(adam.user._id);
    expect(res.body.room).toMatchObject({
      t: "d",
      usersCount: 1,
      usernames: [adam.user.username],
      uids: [adam.user._id],
    });
    expect(await subscription(adam, rid)).toMatchObject({
      name: adam.user.username,
      fname: "Adam Alpha",
    });
    const again = await openDm(adam, { username: adam.user.username });
    expect(again.body.room._id).toBe(rid);
  });

  test("are refused while Message_AllowDirectMessagesToYourself is off", async () => {
    await setSetting("Message_AllowDirectMessagesToYourself", false);

    const res = await openDm(mia, { username: mia.user.username }).finally(() =>
      setSetting("Message_AllowDirectMessagesToYourself", true),
    );

    expect(res.body).toEqual({
      success: false,
      error: "Invalid user [error-invalid-user]",
      errorType: "error-invalid-user",
      details: { method: "createDirectMessage" },
    });
  });
});

describe("im.members", () => {
  test("lists the members with their subscription, most recently updated first", async () => {
    const dm = await openDm(zoe, { usernames: `${adam.user.username},${mia.user.username}` });

    const res = await api(server, "im.members", {
      auth: adam.credentials,
      query: { roomId: dm.body.room._id, filter: "Mu" },
    });

    expect(res.body).toEqual({
      success: true,
      members: [
        {
          _id: mia.user._id,
          username: mia.user.username,
          name: "Mia Mu",
          status: "offline",
          utcOffset: expect.any(Number),
          subscription: { _id: expect.any(String), ts: expect.any(String) },
        },
      ],
      count: 1,
      offset: 0,
      total: 1,
    });
  });

  test("finds the DM by the other user's username", async () => {
    const res = await api(server, "im.members", {
      auth: outsider.credentials,
      query: { username: mia.user.username },
    });

    const ids = res.body.members.map((m: { _id: string }) => m._id).sort();
    expect(ids).toEqual([mia.user._id, outsider.user._id].sort());
    expect(res.body.total).toBe(2);
  });

  test("answers the bare 403 to someone outside the DM", async () => {
    const dm = await openDm(zoe, { username: adam.user.username });

    const res = await api(server, "im.members", {
      auth: outsider.credentials,
      query: { roomId: dm.body.room._id },
    });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });

  test("requires roomId or username in ajv's wording", async () => {
    const res = await api(server, "im.members", { auth: zoe.credentials });

    expect(res.body.errorType).toBe("invalid-params");
    expect(res.body.error).toContain("must have required property 'roomId'");
  });
});

describe("im.list.everyone", () => {
  test("lists every direct message to an administrator", async () => {
    const dm = await openDm(zoe, { username: mia.user.username });

    const res = await api(server, "im.list.everyone", {
      auth: server.admin,
      query: { count: "100" },
    });

    expect(res.body).toMatchObject({ success: true, offset: 0 });
    expect(res.body.total).toBe(res.body.ims.length);
    expect(res.body.ims.map((r: { _id: string }) => r._id)).toContain(dm.body.room._id);
  });

  test("is refused without view-room-administration", async () => {
    const res = await api(server, "dm.list.everyone", { auth: zoe.credentials });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      success: false,
      error: "User does not have the permissions required for this action [error-unauthorized]",
    });
  });
});
