/**
 * Several Parley processes as one deployment: three processes on one data directory joined
 * by a real NATS server, and a fourth of another deployment on the same server. The first to start owns the embedded store and the other reaches
 * it through the bus; stream events, settings, permissions and room changes made in one
 * process reach the other; and when the owner is killed, the survivor takes the store
 * over and sweeps the dead process's users offline. Processes stopped while the NATS
 * server is gone still exit cleanly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { USER_PRESENCE } from "../core/hub.ts";
import { TEST_ADMIN } from "../services/index.ts";
import { closed } from "./ddp-helpers.ts";
import { api, type Credentials, login, RawDdp } from "./helpers.ts";
import {
  NATS_SKIP,
  type NatsProcess,
  type ParleyProcess,
  runParleyToExit,
  spawnNats,
  spawnParley,
} from "./processes.ts";

const STATUS = { offline: 0, online: 1, away: 2, busy: 3 } as const;

function wsOf(url: string): string {
  return `${url.replace("http", "ws")}/websocket`;
}

/**
 * Resolves once `watcher` receives user `uid` shown with status `code`, in a frame after
 * the first `seen` it had received (a subscription may start with the current status).
 */
function presenceOf(watcher: RawDdp, uid: string, code: number, seen: number) {
  return watcher.waitFor((f) => {
    const args = (f.fields as { args?: [[string, number]] } | undefined)?.args;
    return (
      watcher.frames.indexOf(f) >= seen &&
      f.collection === USER_PRESENCE &&
      f.id === uid &&
      args?.[0]?.[1] === code
    );
  });
}

describe.skipIf(NATS_SKIP !== "")(`processes joined by NATS${NATS_SKIP}`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-cluster-"));
  let nats: NatsProcess;
  let a: ParleyProcess;
  let b: ParleyProcess;
  let c: ParleyProcess;
  let admin: Credentials;
  let user: Credentials & { username: string };
  const sockets: RawDdp[] = [];

  async function connect(url: string, token: string): Promise<RawDdp> {
    const socket = await RawDdp.connect(wsOf(url));
    sockets.push(socket);
    const answer = await socket.resume(token);
    expect(answer.error).toBeUndefined();
    return socket;
  }

  /** A watcher on `watchFrom` of the user, who then connects to `connectTo` and shows online. */
  async function watchUserComeOnline(watchFrom: string, connectTo: string) {
    const watcher = await connect(watchFrom, admin.authToken);
    await watcher.sub(USER_PRESENCE, "", { added: [user.userId] });
    const seen = watcher.frames.length;
    const client = await connect(connectTo, user.authToken);
    await presenceOf(watcher, user.userId, STATUS.online, seen);
    return { watcher, client };
  }

  beforeAll(async () => {
    nats = await spawnNats();
    const env = { NATS_URL: nats.url, PRESENCE_HEARTBEAT_MS: "250", HOST: "127.0.0.1" };
    a = await spawnParley(dataDir, { ...env, INSTANCE_ID: "cluster-a" });
    b = await spawnParley(dataDir, { ...env, INSTANCE_ID: "cluster-b" });
    c = await spawnParley(dataDir, { ...env, INSTANCE_ID: "cluster-c" });
    admin = await login(a.url, TEST_ADMIN, TEST_ADMIN);
    const username = `cluster.${crypto.randomUUID().slice(0, 8)}`;
    const created = await api(a.url, "users.create", {
      auth: admin,
      body: { username, name: username, email: `${username}@example.com`, password: "pw" },
    });
    expect(created.status).toBe(200);
    user = { ...(await login(b.url, username, "pw")), username };
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    for (const child of [a, b, c]) child?.process.kill(9);
    await nats?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a process started under the name of a running one is refused", async () => {
    const second = await runParleyToExit({
      NATS_URL: nats.url,
      DATA_DIR: dataDir,
      INSTANCE_ID: "cluster-b",
    });

    expect(second.code).toBe(2);
    expect(second.stderr).toContain(
      'INSTANCE_ID: another running process is named "cluster-b" in this deployment',
    );
    // The running process keeps its name and its work.
    const info = await api(b.url, "me", { auth: admin });
    expect(info.status).toBe(200);
  }, 30_000);

  test("both processes serve the same data", async () => {
    const fromA = await api(a.url, "users.info", { auth: admin, query: { userId: user.userId } });
    const fromB = await api(b.url, "users.info", { auth: admin, query: { userId: user.userId } });
    expect(fromB.status).toBe(200);
    expect(fromB.body.user).toEqual(fromA.body.user);
  }, 30_000);

  test("a deployment on another data folder shares the NATS server without hearing this one", async () => {
    const otherDir = mkdtempSync(join(tmpdir(), "parley-elsewhere-"));
    const elsewhere = await spawnParley(otherDir, {
      NATS_URL: nats.url,
      HOST: "127.0.0.1",
      INSTANCE_ID: "elsewhere",
    });
    try {
      const otherAdmin = await login(elsewhere.url, TEST_ADMIN, TEST_ADMIN);
      const watcher = await connect(elsewhere.url, otherAdmin.authToken);
      await watcher.sub("stream-room-messages", "GENERAL", false);

      await api(a.url, "chat.postMessage", {
        auth: user,
        body: { channel: "#general", text: "here" },
      });
      const own = await api(elsewhere.url, "chat.postMessage", {
        auth: otherAdmin,
        body: { channel: "#general", text: "elsewhere" },
      });
      const [first] = (await watcher.streamEvent("stream-room-messages", "GENERAL")) as [
        { _id: string },
      ];

      expect(first._id).toBe(own.body.message._id);
      for (let i = 0; i < 10; i++) {
        const info = await api(b.url, "users.info", {
          auth: admin,
          query: { userId: user.userId },
        });
        expect(info.status).toBe(200);
      }
      const unknown = await api(elsewhere.url, "users.info", {
        auth: otherAdmin,
        query: { userId: user.userId },
      });
      expect(unknown.status).toBe(400);
    } finally {
      elsewhere.process.kill(9);
      rmSync(otherDir, { recursive: true, force: true });
    }
  }, 30_000);

  test("a user's presence on one process reaches a watcher on the other", async () => {
    const watcher = await connect(b.url, admin.authToken);
    await watcher.sub(USER_PRESENCE, "", { added: [user.userId] });

    // One session on each process: the one on the second process is stored first.
    let seen = watcher.frames.length;
    const second = await connect(b.url, user.authToken);
    await presenceOf(watcher, user.userId, STATUS.online, seen);
    const client = await connect(a.url, user.authToken);
    seen = watcher.frames.length;
    await client.call("UserPresence:setDefaultStatus", "busy");
    await presenceOf(watcher, user.userId, STATUS.busy, seen);

    const gone = closed(client.socket);
    client.close();
    await gone;
    // The text change is announced with the status that the remaining session keeps.
    const text = `still here ${crypto.randomUUID().slice(0, 6)}`;
    await api(a.url, "users.setStatus", { auth: user, body: { message: text } });
    const shown = await watcher.streamEvent(USER_PRESENCE, user.userId, (args) => {
      return (args[0] as unknown[])[2] === text;
    });
    expect(shown).toEqual([[user.username, STATUS.busy, text]]);

    seen = watcher.frames.length;
    second.close();
    await presenceOf(watcher, user.userId, STATUS.offline, seen);
    const status = await api(b.url, "users.getStatus", {
      auth: admin,
      query: { userId: user.userId },
    });
    expect(status.body.status).toBe("offline");
    await api(a.url, "users.setStatus", { auth: user, body: { status: "online" } });
  }, 30_000);

  test("a message posted on one process reaches a subscriber on the other", async () => {
    const watcher = await connect(b.url, admin.authToken);
    await watcher.sub("stream-room-messages", "GENERAL", false);
    const text = `across ${crypto.randomUUID()}`;

    const posted = await api(a.url, "chat.postMessage", {
      auth: user,
      body: { channel: "#general", text },
    });

    expect(posted.status).toBe(200);
    const [message] = (await watcher.streamEvent(
      "stream-room-messages",
      "GENERAL",
      (args) => (args[0] as { msg?: string }).msg === text,
    )) as [{ _id: string }];
    expect(message._id).toBe(posted.body.message._id);
  }, 30_000);

  test("a room changed through one process is read again by its actor on the other", async () => {
    const name = `cluster-${crypto.randomUUID().slice(0, 8)}`;
    const created = await api(a.url, "groups.create", {
      auth: admin,
      body: { name, members: [user.username] },
    });
    expect(created.status).toBe(200);
    const rid = created.body.group._id as string;
    const post = (text: string) =>
      api(a.url, "chat.postMessage", { auth: user, body: { roomId: rid, text } });
    // The group's actor now runs on the first process, holding the room and its members.
    expect((await post("first")).status).toBe(200);

    const readOnly = await api(b.url, "groups.setReadOnly", {
      auth: admin,
      body: { roomId: rid, readOnly: true },
    });
    expect(readOnly.status).toBe(200);
    const whileReadOnly = await post("while read-only");
    expect(whileReadOnly.status).toBe(400);
    expect(whileReadOnly.body.error).toBe("You can't send messages because the room is readonly.");

    await api(b.url, "groups.setReadOnly", { auth: admin, body: { roomId: rid, readOnly: false } });
    const kicked = await api(b.url, "groups.kick", {
      auth: admin,
      body: { roomId: rid, userId: user.userId },
    });
    expect(kicked.status).toBe(200);
    const afterKick = await post("no longer a member");
    expect(afterKick.status).toBe(400);
    expect(afterKick.body).toEqual({ success: false, error: "error-not-allowed" });
  }, 30_000);

  test("a setting changed on one process applies at once on the other", async () => {
    const long = "x".repeat(40);
    const before = await api(b.url, "chat.postMessage", {
      auth: user,
      body: { channel: "#general", text: long },
    });
    expect(before.status).toBe(200);

    const changed = await api(a.url, "settings/Message_MaxAllowedSize", {
      auth: admin,
      body: { value: 20 },
    });
    expect(changed.status).toBe(200);
    const after = await api(b.url, "chat.postMessage", {
      auth: user,
      body: { channel: "#general", text: long },
    });

    expect(after.status).toBe(400);
    expect(after.body.error).toBe("error-message-size-exceeded");
    await api(a.url, "settings/Message_MaxAllowedSize", { auth: admin, body: { value: 5000 } });
  }, 30_000);

  test("a permission changed on one process applies at once on the other", async () => {
    const current = await api(a.url, "permissions.listAll", { auth: admin });
    const roles = current.body.update.find((p: { _id: string }) => p._id === "create-c").roles;
    const without = roles.filter((r: string) => r !== "user");
    const update = (list: string[]) =>
      api(a.url, "permissions.update", {
        auth: admin,
        body: { permissions: [{ _id: "create-c", roles: list }] },
      });
    expect((await update(without)).status).toBe(200);

    const refused = await api(b.url, "channels.create", {
      auth: user,
      body: { name: `refused-${crypto.randomUUID().slice(0, 8)}` },
    });

    expect(refused.status).toBe(403);
    expect((await update(roles)).status).toBe(200);
    const allowed = await api(b.url, "channels.create", {
      auth: user,
      body: { name: `allowed-${crypto.randomUUID().slice(0, 8)}` },
    });
    expect(allowed.status).toBe(200);
  }, 30_000);

  test("a process that was counted as gone records its open connections again", async () => {
    const d = await spawnParley(dataDir, {
      NATS_URL: nats.url,
      PRESENCE_HEARTBEAT_MS: "250",
      HOST: "127.0.0.1",
      INSTANCE_ID: "cluster-d",
    });
    try {
      const { watcher } = await watchUserComeOnline(b.url, d.url);

      // Paused past three heartbeats, as a process cut off from the bus would be.
      let seen = watcher.frames.length;
      d.process.kill("SIGSTOP");
      await presenceOf(watcher, user.userId, STATUS.offline, seen);
      seen = watcher.frames.length;
      d.process.kill("SIGCONT");

      await presenceOf(watcher, user.userId, STATUS.online, seen);
    } finally {
      // A clean stop takes the user offline again before the next test.
      d.process.kill("SIGCONT");
      d.process.kill("SIGTERM");
      await d.process.exited;
    }
  }, 30_000);

  test("a process that stops cleanly takes its users offline", async () => {
    const d = await spawnParley(dataDir, {
      NATS_URL: nats.url,
      HOST: "127.0.0.1",
      INSTANCE_ID: "cluster-e",
    });
    const before = await api(b.url, "users.getStatus", {
      auth: admin,
      query: { userId: user.userId },
    });
    expect(before.body.status).toBe("offline");
    const { watcher } = await watchUserComeOnline(b.url, d.url);

    const seen = watcher.frames.length;
    d.process.kill("SIGTERM");
    expect(await d.process.exited).toBe(0);

    await presenceOf(watcher, user.userId, STATUS.offline, seen);
  }, 30_000);

  test("a change made while the bus was down reaches the other processes once it is back", async () => {
    const port = Number(new URL(nats.url).port);
    await nats.stop();
    // The owner runs the store itself, so it still takes the change.
    const changed = await api(a.url, "settings/Message_MaxAllowedSize", {
      auth: admin,
      body: { value: 20 },
    });
    expect(changed.status).toBe(200);
    nats = await spawnNats(port);

    // Once the second process is back on the bus it reads the settings again.
    let status = 0;
    for (let i = 0; i < 100 && status !== 400; i++) {
      const res = await api(b.url, "chat.postMessage", {
        auth: user,
        body: { channel: "#general", text: "x".repeat(40) },
      });
      status = res.status;
      if (status !== 400) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(400);
    await api(a.url, "settings/Message_MaxAllowedSize", { auth: admin, body: { value: 5000 } });
  }, 30_000);

  test("people reacting at once through both processes all keep their reaction", async () => {
    const name = `reactions-${crypto.randomUUID().slice(0, 8)}`;
    const created = await api(a.url, "channels.create", { auth: admin, body: { name } });
    const rid = created.body.channel._id as string;
    const people: { url: string; auth: Credentials; username: string }[] = [];
    for (let i = 0; i < 9; i++) {
      const username = `${name}.${i}`;
      const body = { username, name: username, email: `${username}@example.com`, password: "pw" };
      expect((await api(a.url, "users.create", { auth: admin, body })).status).toBe(200);
      const url = i % 2 === 0 ? a.url : b.url;
      const auth = await login(url, username, "pw");
      expect((await api(url, "channels.join", { auth, body: { roomId: rid } })).status).toBe(200);
      people.push({ url, auth, username });
    }
    const usernames = people.map((p) => p.username).sort();
    const stored = async (msgId: string) => {
      const res = await api(b.url, "chat.getMessage", { auth: admin, query: { msgId } });
      return res.body.message.reactions;
    };
    const reactAll = (msgId: string, emoji: string, shouldReact: boolean) =>
      Promise.all(
        people.map(async ({ url, auth }) => {
          const body = { messageId: msgId, emoji, shouldReact };
          return (await api(url, "chat.react", { auth, body })).status;
        }),
      );

    // Each round reacts to a new message, so that an interleaving that loses an update has
    // several chances to show; the room's actors run on both processes.
    for (let round = 0; round < 3; round++) {
      const posted = await api(a.url, "chat.postMessage", {
        auth: admin,
        body: { roomId: rid, text: `react ${round}` },
      });
      const msgId = posted.body.message._id as string;

      expect(await reactAll(msgId, ":tada:", true)).toEqual(people.map(() => 200));
      const added = await stored(msgId);
      added[":tada:"].usernames.sort();
      expect(added).toEqual({ ":tada:": { usernames } });

      expect(await reactAll(msgId, ":tada:", false)).toEqual(people.map(() => 200));
      expect(await stored(msgId)).toBeUndefined();
    }
  }, 60_000);

  test("when the owner is killed the survivor takes the store over and sweeps its users offline", async () => {
    const { watcher, client } = await watchUserComeOnline(b.url, a.url);

    // A third process keeps posting while the owner dies: operations it had sent to the
    // owner are given up within seconds, and later ones reach whoever took the store over.
    const posts = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await api(c.url, "chat.postMessage", {
          auth: user,
          body: { channel: "#general", text: `through the third ${i}` },
        });
        statuses.push(res.status);
      }
      return statuses;
    })();
    const seen = watcher.frames.length;
    a.process.kill(9);
    await a.process.exited;

    // The survivor's heartbeat finds the first process silent and removes its connections.
    await presenceOf(watcher, user.userId, STATUS.offline, seen);
    client.close();
    const status = await api(b.url, "users.getStatus", {
      auth: admin,
      query: { userId: user.userId },
    });
    expect(status.status).toBe(200);
    expect(status.body.status).toBe("offline");
    const text = `after the owner died ${crypto.randomUUID()}`;
    const posted = await api(b.url, "chat.postMessage", {
      auth: user,
      body: { channel: "#general", text },
    });
    expect(posted.status).toBe(200);
    // A post whose write the dying owner took may fail (it may or may not have been
    // stored); every other one succeeds, and none waits for long.
    const statuses = await posts;
    expect(statuses.filter((status) => status !== 200).length).toBeLessThanOrEqual(1);
    expect(statuses.slice(-10)).toEqual(Array(10).fill(200));
  }, 30_000);
});

describe.skipIf(NATS_SKIP !== "")(`a process stopped while NATS is down${NATS_SKIP}`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-bus-down-"));
  const children: ParleyProcess[] = [];

  afterAll(() => {
    for (const child of children) child.process.kill(9);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the owner and a process reaching the store through it both exit cleanly", async () => {
    const nats = await spawnNats();
    const env = { NATS_URL: nats.url, HOST: "127.0.0.1" };
    const owner = await spawnParley(dataDir, { ...env, INSTANCE_ID: "bus-down-owner" });
    children.push(owner);
    const follower = await spawnParley(dataDir, { ...env, INSTANCE_ID: "bus-down-follower" });
    children.push(follower);
    await nats.stop();

    follower.process.kill("SIGTERM");
    const followerExit = await follower.process.exited;
    owner.process.kill("SIGTERM");
    const ownerExit = await owner.process.exited;

    expect({ followerExit, ownerExit }).toEqual({ followerExit: 0, ownerExit: 0 });
  }, 30_000);
});
