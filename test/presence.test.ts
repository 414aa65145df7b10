/**
 * Presence end to end: a real server, real WebSockets. A user is online while any of
 * their connections is, away when every one is idle, offline once the last is gone; the
 * status they choose wins over idleness, and invisible shows them offline to others.
 * Changes reach the connections watching that user on `stream-user-presence`, and every
 * logged-in listener of `user-status` on `stream-notify-logged`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DDPSDK } from "@rocket.chat/ddp-client";
import { SimulatedClock } from "xstate";
import { Clients, closed, fence, type SeededUser, seedUser, sha256 } from "./ddp-helpers.ts";
import { api, type RawDdp, setSettings, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

type Presence = [string, number, string | undefined];

/** The presence events about `uid` that `client` has received so far. */
function presenceOf(client: RawDdp, uid: string): Presence[] {
  return client.frames
    .filter((f) => f.msg === "changed" && f.collection === "stream-user-presence" && f.id === uid)
    .map((f) => (f.fields as { args: [Presence] }).args[0]);
}

/** Resolves once `client` has received `count` presence events about `uid`; answers the last. */
async function nthPresence(client: RawDdp, uid: string, count: number): Promise<Presence> {
  await client.waitFor(() => presenceOf(client, uid).length >= count);
  return presenceOf(client, uid)[count - 1] as Presence;
}

/** A logged-in client watching the presence of `users`, as Rocket.Chat's web client does. */
async function watcherOf(...users: SeededUser[]): Promise<RawDdp> {
  const watcher = await clients.connect(server, await seedUser(server, "watcher"));
  const ready = await watcher.sub("stream-user-presence", "", { added: users.map((u) => u._id) });
  expect(ready.msg).toBe("ready");
  return watcher;
}

async function statusOf(user: SeededUser) {
  const res = await api(server, "users.getStatus", {
    auth: server.admin,
    query: { userId: user._id },
  });
  return res.body.status;
}

describe("connections", () => {
  test("a user with two sessions stays online until both end", async () => {
    const user = await seedUser(server, "two");
    const watcher = await watcherOf(user);

    const first = await clients.connect(server, user);
    expect(await nthPresence(watcher, user._id, 1)).toEqual([user.username, 1, null] as never);
    const second = await clients.connect(server, user);
    first.close();
    await new Promise((resolve) => first.socket.addEventListener("close", resolve));
    // Runs behind the first connection's end in the user's actor.
    expect((await second.call("UserPresence:online")).result).toBe(true);
    expect(await statusOf(user)).toBe("online");
    await fence(watcher);
    expect(presenceOf(watcher, user._id)).toHaveLength(1);

    second.close();

    expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 0, null] as never);
    expect(await statusOf(user)).toBe("offline");
  });

  test("a connection that logs out no longer counts", async () => {
    const user = await seedUser(server, "logout");
    const watcher = await watcherOf(user);
    const client = await clients.connect(server, user);
    await nthPresence(watcher, user._id, 1);

    await client.call("logout");

    expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 0, null] as never);
  });

  test("idle connections make the user away, and one active connection brings them back", async () => {
    const user = await seedUser(server, "idle");
    const watcher = await watcherOf(user);
    const web = await clients.connect(server, user);
    const mobile = await clients.connect(server, user);
    await nthPresence(watcher, user._id, 1);

    await web.call("UserPresence:away");
    expect(await statusOf(user)).toBe("online");
    await mobile.call("UserPresence:away");
    expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 2, null] as never);
    await web.call("UserPresence:online");

    expect(await nthPresence(watcher, user._id, 3)).toEqual([user.username, 1, null] as never);
  });
});

describe("the status a user chooses", () => {
  test("busy survives an away and online idle cycle", async () => {
    const user = await seedUser(server, "busy");
    const watcher = await watcherOf(user);
    const client = await clients.connect(server, user);
    await nthPresence(watcher, user._id, 1);

    expect((await client.call("UserPresence:setDefaultStatus", "busy")).result).toBe(true);
    expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 3, null] as never);
    await client.call("UserPresence:away");
    await client.call("UserPresence:online");

    expect(await statusOf(user)).toBe("busy");
    await fence(watcher);
    expect(presenceOf(watcher, user._id).map(([, code]) => code)).toEqual([1, 3]);
    const own = await api(server, "users.getStatus", { auth: user.credentials });
    expect(own.body).toEqual({
      _id: user._id,
      connectionStatus: "online",
      status: "busy",
      success: true,
    });
  });

  test("invisible shows the user offline to others while they are connected", async () => {
    const user = await seedUser(server, "invisible");
    const watcher = await watcherOf(user);
    await clients.connect(server, user);
    await nthPresence(watcher, user._id, 1);

    const set = await api(server, "users.setStatus", {
      auth: user.credentials,
      body: { status: "offline" },
    });

    expect(set.body).toEqual({ success: true });
    expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 0, null] as never);
    const listed = await api(server, "users.presence", {
      auth: server.admin,
      query: { ids: user._id },
    });
    expect(listed.body).toEqual({ users: [], full: false, success: true });
    const info = await api(server, "users.info", {
      auth: (await seedUser(server, "other")).credentials,
      query: { userId: user._id },
    });
    expect(info.body.user.status).toBe("offline");
    const own = await api(server, "users.getPresence", { auth: user.credentials });
    expect(own.body).toMatchObject({ presence: "offline", connectionStatus: "online" });
  });

  test("choosing online again follows the connections", async () => {
    const user = await seedUser(server, "back");
    const watcher = await watcherOf(user);
    const client = await clients.connect(server, user);
    await client.call("setUserStatus", "away", "out for lunch");
    expect(await nthPresence(watcher, user._id, 2)).toEqual([
      user.username,
      2,
      "out for lunch",
    ] as never);

    await client.call("setUserStatus", "online", "");

    expect(await nthPresence(watcher, user._id, 3)).toEqual([user.username, 1, ""] as never);
  });

  test("a status text change is announced with the user's details on user-status", async () => {
    const user = await seedUser(server, "text");
    const listener = await clients.connect(server, await seedUser(server, "listener"));
    expect((await listener.sub("stream-notify-logged", "user-status", false)).msg).toBe("ready");
    await clients.connect(server, user);

    await api(server, "users.setStatus", {
      auth: user.credentials,
      body: { message: "  in a meeting  " },
    });

    const [args] = await listener.streamEvent(
      "stream-notify-logged",
      "user-status",
      (a) => (a[0] as unknown[])[0] === user._id && (a[0] as unknown[])[3] === "in a meeting",
    );
    expect(args).toEqual([user._id, user.username, 1, "in a meeting", user.username, ["user"]]);
  });

  test("UserPresence:setDefaultStatus refuses invisible while the workspace does not offer it", async () => {
    const user = await seedUser(server, "no-invisible");
    const client = await clients.connect(server, user);
    await setSettings(server, { Accounts_AllowInvisibleStatusOption: false });

    const answer = await client
      .call("UserPresence:setDefaultStatus", "offline")
      .finally(() => setSettings(server, { Accounts_AllowInvisibleStatusOption: true }));

    expect(answer.error).toEqual({
      isClientSafe: true,
      error: "error-status-not-allowed",
      reason: "Invisible status is disabled",
      message: "Invisible status is disabled [error-status-not-allowed]",
      errorType: "Meteor.Error",
      details: { method: "UserPresence:setDefaultStatus" },
    });
    const stored = await server.parley.services.deps.db.users.findOne({ _id: user._id });
    expect(stored?.statusDefault).toBeUndefined();
  });

  test("a user without connections who chooses busy stays offline", async () => {
    const user = await seedUser(server, "away-from-keyboard");

    await api(server, "users.setStatus", { auth: user.credentials, body: { status: "busy" } });

    expect(await statusOf(user)).toBe("offline");
    const client = await clients.connect(server, user);
    await client.call("UserPresence:online");
    expect(await statusOf(user)).toBe("busy");
  });
});

describe("a status changed with the profile", () => {
  /** A listener of `user-status`, and the details it received about `user` with `text`. */
  async function userStatusListener() {
    const listener = await clients.connect(server, await seedUser(server, "listener"));
    expect((await listener.sub("stream-notify-logged", "user-status", false)).msg).toBe("ready");
    return (user: SeededUser, text: string) =>
      listener.streamEvent(
        "stream-notify-logged",
        "user-status",
        (a) => (a[0] as unknown[])[0] === user._id && (a[0] as unknown[])[3] === text,
      );
  }

  test("users.updateOwnBasicInfo announces a new status text to watchers and listeners", async () => {
    const user = await seedUser(server, "own-text");
    const watcher = await watcherOf(user);
    const seen = await userStatusListener();
    await clients.connect(server, user);
    await nthPresence(watcher, user._id, 1);

    const res = await api(server, "users.updateOwnBasicInfo", {
      auth: user.credentials,
      body: { data: { statusText: "  on leave  " } },
    });

    expect(res.status).toBe(200);
    expect(res.body.user.statusText).toBe("on leave");
    expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 1, "on leave"]);
    const [args] = await seen(user, "on leave");
    expect(args).toEqual([user._id, user.username, 1, "on leave", user.username, ["user"]]);
  });

  test("users.updateOwnBasicInfo sets the status type as setUserStatus does", async () => {
    const user = await seedUser(server, "own-type");
    const watcher = await watcherOf(user);
    await clients.connect(server, user);
    await nthPresence(watcher, user._id, 1);

    const res = await api(server, "users.updateOwnBasicInfo", {
      auth: user.credentials,
      body: { data: { statusType: "busy" } },
    });

    expect(res.status).toBe(200);
    expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 3, null] as never);
    expect(await statusOf(user)).toBe("busy");
  });

  test("users.updateOwnBasicInfo refuses an unknown or disabled status type and changes nothing", async () => {
    const user = await seedUser(server, "own-refused");
    await setSettings(server, { Accounts_AllowInvisibleStatusOption: false });

    const unknown = await api(server, "users.updateOwnBasicInfo", {
      auth: user.credentials,
      body: { data: { statusType: "sleeping", statusText: "zzz", nickname: "nap" } },
    });
    const invisible = await api(server, "users.updateOwnBasicInfo", {
      auth: user.credentials,
      body: { data: { statusType: "offline", statusText: "zzz", nickname: "nap" } },
    }).finally(() => setSettings(server, { Accounts_AllowInvisibleStatusOption: true }));

    expect({ status: unknown.status, body: unknown.body }).toEqual({
      status: 400,
      body: {
        success: false,
        error: "Valid status types include online, away, offline, and busy. [error-invalid-status]",
        errorType: "error-invalid-status",
        details: { method: "setUserStatus" },
      },
    });
    expect({ status: invisible.status, body: invisible.body }).toEqual({
      status: 400,
      body: {
        success: false,
        error: "Invisible status is disabled [error-status-not-allowed]",
        errorType: "error-status-not-allowed",
        details: { method: "setUserStatus" },
      },
    });
    const info = await api(server, "users.info", {
      auth: server.admin,
      query: { userId: user._id },
    });
    expect(info.body.user).not.toHaveProperty("statusText");
    expect(info.body.user).not.toHaveProperty("nickname");
  });

  test("users.update by an administrator announces the new status text", async () => {
    const user = await seedUser(server, "admin-text");
    const watcher = await watcherOf(user);
    const seen = await userStatusListener();
    await clients.connect(server, user);
    await nthPresence(watcher, user._id, 1);

    const res = await api(server, "users.update", {
      auth: server.admin,
      body: { userId: user._id, data: { statusText: "set by an admin" } },
    });

    expect(res.status).toBe(200);
    expect(await nthPresence(watcher, user._id, 2)).toEqual([
      user.username,
      1,
      "set by an admin",
    ] as never);
    const [args] = await seen(user, "set by an admin");
    expect(args).toEqual([user._id, user.username, 1, "set by an admin", user.username, ["user"]]);
  });
});

describe("the presence stream", () => {
  test("a later subscription with an empty name only changes the watched users and ends at once", async () => {
    const [first, second] = [await seedUser(server, "first"), await seedUser(server, "second")];
    const watcher = await watcherOf(first);

    const update = await watcher.sub("stream-user-presence", "", {
      added: [second._id],
      removed: [first._id],
    });
    expect(update).toEqual({ msg: "nosub", id: update.id });
    await clients.connect(server, first);
    await clients.connect(server, second);

    expect(await nthPresence(watcher, second._id, 1)).toEqual([second.username, 1, null] as never);
    await fence(watcher);
    expect(presenceOf(watcher, first._id)).toEqual([]);
  });

  test("an anonymous connection may not watch presence", async () => {
    const anonymous = await clients.connect(server);

    const answer = await anonymous.sub("stream-user-presence", "", { added: ["rocket.cat"] });

    expect(answer).toMatchObject({ msg: "nosub", error: { error: "not-allowed" } });
  });

  test("the real ddp-client follows one user's presence by id", async () => {
    const user = await seedUser(server, "sdk-watched");
    const viewer = await seedUser(server, "sdk-viewer");
    const sdk = await DDPSDK.createAndConnect(server.url);
    try {
      await sdk.account.loginWithPassword(viewer.username, sha256(viewer.password));
      const seen: unknown[] = [];
      let heard: (value: unknown) => void = () => {};
      const online = new Promise((resolve) => {
        heard = resolve;
      });
      const sub = sdk.stream("user-presence", user._id, (event: unknown) => {
        seen.push(event);
        heard(event);
      });
      await sub.ready();

      await clients.connect(server, user);

      expect(await online).toEqual([user.username, 1, null]);
      expect(seen).toHaveLength(1);
    } finally {
      sdk.connection.close();
    }
  });
});

describe("REST", () => {
  test("users.setStatus refuses an unknown status and changes nothing", async () => {
    const user = await seedUser(server, "invalid");

    const res = await api(server, "users.setStatus", {
      auth: user.credentials,
      body: { status: "sleeping", message: "zzz" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Valid status types include online, away, offline, and busy. [error-invalid-status]",
      errorType: "error-invalid-status",
      details: { method: "users.setStatus" },
    });
    const info = await api(server, "users.info", {
      auth: user.credentials,
      query: { userId: user._id },
    });
    expect(info.body.user.statusText).toBeUndefined();
  });

  test("users.setStatus for someone else needs edit-other-user-info", async () => {
    const [actor, target] = [await seedUser(server, "actor"), await seedUser(server, "target")];

    const refused = await api(server, "users.setStatus", {
      auth: actor.credentials,
      body: { status: "busy", userId: target._id },
    });
    const done = await api(server, "users.setStatus", {
      auth: server.admin,
      body: { message: "set by admin", username: target.username },
    });

    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ success: false, error: "unauthorized" });
    expect(done.body).toEqual({ success: true });
    const info = await api(server, "users.info", {
      auth: target.credentials,
      query: { userId: target._id },
    });
    expect(info.body.user.statusText).toBe("set by admin");
  });

  test("users.setStatus needs a status or a message", async () => {
    const res = await api(server, "users.setStatus", { auth: server.admin, body: {} });

    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
  });

  test("users.getPresence of another user answers the presence alone", async () => {
    const user = await seedUser(server, "presence");
    await clients.connect(server, user);

    await clients.connect(server, user).then((c) => c.call("UserPresence:online"));
    const res = await api(server, "users.getPresence", {
      auth: server.admin,
      query: { username: user.username },
    });

    expect(res.body).toEqual({ presence: "online", success: true });
  });

  test("users.presence answers who is online, and with a recent `from` who changed since", async () => {
    const since = new Date().toISOString();
    const user = await seedUser(server, "listed");
    const client = await clients.connect(server, user);
    await client.call("UserPresence:online");

    const all = await api(server, "users.presence", { auth: server.admin });
    const changed = await api(server, "users.presence", {
      auth: server.admin,
      query: { from: since },
    });

    expect(all.body.full).toBe(true);
    expect(all.body.users).toContainEqual({
      _id: user._id,
      username: user.username,
      name: user.username,
      status: "online",
      utcOffset: 0,
    });
    expect(changed.body.full).toBe(false);
    expect(changed.body.users.map((u: { _id: string }) => u._id)).toContain(user._id);
  });
});

describe("users.presence by ids", () => {
  /** The ids `users.presence` answers to the query string `search`, sorted, and its `full`. */
  async function listed(search: string) {
    const res = await api(server, `users.presence?${search}`, { auth: server.admin });
    const ids = (res.body.users as { _id: string }[]).map((u) => u._id).sort();
    return { ids, full: res.body.full };
  }

  test("reads the ids in every form clients send them", async () => {
    const [first, second, third] = [
      await seedUser(server, "first"),
      await seedUser(server, "second"),
      await seedUser(server, "third"),
    ];
    const watcher = await watcherOf(first, second, third);
    for (const user of [first, second, third]) {
      await clients.connect(server, user);
      await nthPresence(watcher, user._id, 1);
    }
    const wanted = { ids: [first._id, second._id].sort(), full: false };

    const bracketed = await listed(`ids[]=${first._id}&ids[]=${second._id}`);
    const repeated = await listed(`ids=${first._id}&ids=${second._id}`);
    const joined = await listed(`ids=${first._id},${second._id}`);

    expect([bracketed, repeated, joined]).toEqual([wanted, wanted, wanted]);
  });
});

describe("presence in user answers", () => {
  test("users.info, users.list and spotlight carry the live status and status text", async () => {
    const user = await seedUser(server, "shown");
    const client = await clients.connect(server, user);
    await client.call("setUserStatus", "busy", "on a call");
    const viewer = await seedUser(server, "viewer");

    const info = await api(server, "users.info", {
      auth: viewer.credentials,
      query: { userId: user._id },
    });
    const list = await api(server, "users.list", {
      auth: server.admin,
      query: { count: "0", sort: JSON.stringify({ _updatedAt: -1 }) },
    });
    const found = await api(server, "spotlight", {
      auth: viewer.credentials,
      query: { query: `@${user.username}` },
    });

    expect(info.body.user).toMatchObject({ status: "busy", statusText: "on a call" });
    const row = list.body.users.find((u: { _id: string }) => u._id === user._id);
    expect(row.status).toBe("busy");
    expect(found.body.users).toContainEqual(
      expect.objectContaining({ _id: user._id, status: "busy", statusText: "on a call" }),
    );
  });
});

describe("a dropped connection", () => {
  test("counts as gone after the heartbeat timeout, on the actors' clock", async () => {
    const clock = new SimulatedClock();
    const quiet = await startTestServer({ actorClock: clock, pingMs: 25_000, timeoutMs: 30_000 });
    const own = new Clients();
    try {
      const user = await seedUser(quiet, "silent");
      const watcher = await own.connect(quiet, await seedUser(quiet, "watcher"));
      await watcher.sub("stream-user-presence", user._id);
      const silent = await own.connect(quiet, user);
      expect(await nthPresence(watcher, user._id, 1)).toEqual([user.username, 1, null] as never);
      const gone = closed(silent.socket);

      clock.increment(25_000);
      // The watcher answers its ping; the silent client never does.
      await watcher.waitFor((f) => f.msg === "ping");
      watcher.send({ msg: "pong" });
      await silent.waitFor((f) => f.msg === "ping");
      await fence(watcher);
      clock.increment(30_000);

      expect((await gone).code).toBe(4000);
      expect(await nthPresence(watcher, user._id, 2)).toEqual([user.username, 0, null] as never);
    } finally {
      own.closeAll();
      await quiet.stop();
    }
  });
});
