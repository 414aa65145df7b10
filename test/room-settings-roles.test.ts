/**
 * Room roles over real HTTP: owners, moderators and leaders added and removed with their
 * system messages and stream events, the list `roles` answers, the last-owner rule shared
 * with leaving, and the set-* permissions and UI_DisplayRoles flipped through the store.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fence } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { newestMessage, Watchers } from "./fixtures/room-watch.ts";
import { Switches } from "./fixtures/switches.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
const watchers = new Watchers();
let alice: Person;
let bob: Person;
let carol: Person;

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  [alice, bob, carol] = [await addPerson(server), await addPerson(server), await addPerson(server)];
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  watchers.closeAll();
  await server.stop();
});

const post = (path: string, who: Person, body: Record<string, unknown>) =>
  api(server, path, { auth: who.credentials, body });

const rolesOf = async (rid: string, who: Person) =>
  (await server.parley.services.rooms.subscription(rid, who.user._id))?.roles ?? [];

describe("owners", () => {
  test("addOwner makes a member an owner, posts the role message and tells the member", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const watcher = await watchers.connect(server, bob);
    const event = `${bob.user._id}/subscriptions-changed`;
    await watcher.sub("stream-notify-user", event, false);
    const changed = watcher.streamEvent("stream-notify-user", event);

    const res = await post("channels.addOwner", alice, { roomId: room._id, userId: bob.user._id });

    expect(res.body).toEqual({ success: true });
    expect(await rolesOf(room._id, bob)).toEqual(["owner"]);
    const [action, sub] = await changed;
    expect(action).toBe("updated");
    expect(sub).toMatchObject({ rid: room._id, roles: ["owner"] });
    expect(await newestMessage(server, room._id)).toMatchObject({
      t: "subscription-role-added",
      msg: bob.user.username,
      role: "owner",
      u: { _id: alice.user._id },
    });
  });

  test("everyone logged in hears roles-change", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    const watcher = await watchers.connect(server, carol);
    await watcher.sub("stream-notify-logged", "roles-change", false);
    const heard = watcher.streamEvent("stream-notify-logged", "roles-change", ([e]) => {
      return (e as { scope?: string }).scope === room._id;
    });

    await post("groups.addModerator", alice, { roomId: room._id, username: bob.user.username });

    expect(await heard).toEqual([
      {
        type: "added",
        _id: "moderator",
        u: { _id: bob.user._id, username: bob.user.username, name: bob.user.name },
        scope: room._id,
      },
    ]);
  });

  test("with UI_DisplayRoles off, nobody hears roles-change", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    const watcher = await watchers.connect(server, carol);
    await watcher.sub("stream-notify-logged", "roles-change", false);
    await switches.setting("UI_DisplayRoles", false);

    await post("groups.addLeader", alice, { roomId: room._id, userId: bob.user._id });
    await fence(watcher);

    const heard = watcher.frames.filter(
      (f) => f.collection === "stream-notify-logged" && JSON.stringify(f).includes(room._id),
    );
    expect(heard).toEqual([]);
    expect(await rolesOf(room._id, bob)).toEqual(["leader"]);
  });

  test("removeOwner refuses the last owner", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.removeOwner", alice, {
      roomId: room._id,
      userId: alice.user._id,
    });

    expect(res.body).toEqual({
      success: false,
      error:
        "This is the last owner. Please set a new owner before removing this one. [error-remove-last-owner]",
      errorType: "error-remove-last-owner",
      details: { method: "removeRoomOwner" },
    });
  });

  test("with a second owner, the first may leave, and the second is then the last", async () => {
    const room = await addRoom(server, "c", alice, [bob, carol]);
    await post("channels.addOwner", alice, { roomId: room._id, userId: bob.user._id });

    const left = await post("channels.leave", alice, { roomId: room._id });
    const removed = await post("channels.removeOwner", bob, {
      roomId: room._id,
      userId: bob.user._id,
    });
    const bobLeaves = await post("channels.leave", bob, { roomId: room._id });

    expect(left.status).toBe(200);
    expect(removed.body.errorType).toBe("error-remove-last-owner");
    expect(bobLeaves.body.errorType).toBe("error-you-are-last-owner");
  });

  test("removeOwner takes the role back and posts subscription-role-removed", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    await post("channels.addOwner", alice, { roomId: room._id, userId: bob.user._id });

    await post("channels.removeOwner", alice, { roomId: room._id, userId: bob.user._id });

    expect(await rolesOf(room._id, bob)).toEqual([]);
    expect(await newestMessage(server, room._id)).toMatchObject({
      t: "subscription-role-removed",
      msg: bob.user.username,
      role: "owner",
    });
  });
});

describe("permissions and refusals", () => {
  test("a member without set-owner may not make owners", async () => {
    const room = await addRoom(server, "c", alice, [bob, carol]);

    const res = await post("channels.addOwner", bob, { roomId: room._id, userId: carol.user._id });

    expect(res.body).toEqual({
      success: false,
      error: "Not allowed [error-not-allowed]",
      errorType: "error-not-allowed",
      details: { method: "addRoomOwner" },
    });
  });

  test("set-owner granted to every user lets a member make owners", async () => {
    const room = await addRoom(server, "c", alice, [bob, carol]);
    await switches.permission("set-owner", ["admin", "owner", "user"]);

    const res = await post("channels.addOwner", bob, { roomId: room._id, userId: carol.user._id });

    expect(res.status).toBe(200);
    expect(await rolesOf(room._id, carol)).toEqual(["owner"]);
  });

  test("set-moderator taken from owners stops them making moderators", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    await switches.permission("set-moderator", ["admin"]);

    const res = await post("channels.addModerator", alice, {
      roomId: room._id,
      userId: bob.user._id,
    });

    expect(res.body.errorType).toBe("error-not-allowed");
  });

  test("set-leader granted to every user lets a member name leaders", async () => {
    const room = await addRoom(server, "p", alice, [bob, carol]);

    const refused = await post("groups.addLeader", bob, {
      roomId: room._id,
      userId: carol.user._id,
    });
    await switches.permission("set-leader", ["admin", "owner", "user"]);
    const allowed = await post("groups.addLeader", bob, {
      roomId: room._id,
      userId: carol.user._id,
    });

    expect(refused.body.errorType).toBe("error-not-allowed");
    expect(allowed.status).toBe(200);
    expect(await rolesOf(room._id, carol)).toEqual(["leader"]);
  });

  test("a role cannot be given to someone outside the room", async () => {
    const room = await addRoom(server, "c", alice);

    const added = await post("channels.addModerator", alice, {
      roomId: room._id,
      userId: carol.user._id,
    });
    const removed = await post("channels.removeModerator", alice, {
      roomId: room._id,
      userId: carol.user._id,
    });

    expect([added.body.error, removed.body.error]).toEqual([
      "User is not in this room [error-user-not-in-room]",
      "Invalid room [error-invalid-room]",
    ]);
  });

  test("a held role cannot be added again, nor a missing one removed", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    await post("channels.addModerator", alice, { roomId: room._id, userId: bob.user._id });

    const again = await post("channels.addModerator", alice, {
      roomId: room._id,
      userId: bob.user._id,
    });
    const missing = await post("channels.removeLeader", alice, {
      roomId: room._id,
      userId: bob.user._id,
    });

    expect([again.body.errorType, missing.body.errorType]).toEqual([
      "error-user-already-moderator",
      "error-user-not-leader",
    ]);
  });

  test("a private group's roles answer a non-member as a group that does not exist", async () => {
    const room = await addRoom(server, "p", alice, [bob]);

    const res = await post("groups.addOwner", carol, { roomId: room._id, userId: bob.user._id });

    expect(res.body.errorType).toBe("error-room-not-found");
  });
});

describe("roles", () => {
  test("lists the members holding roles by username, each with their roles", async () => {
    const room = await addRoom(server, "c", alice, [bob, carol]);
    await post("channels.addModerator", alice, { roomId: room._id, userId: bob.user._id });
    await post("channels.addLeader", alice, { roomId: room._id, userId: bob.user._id });

    const res = await api(server, "channels.roles", {
      auth: carol.credentials,
      query: { roomId: room._id },
    });

    const entry = (p: Person, roles: string[]) => ({
      _id: expect.any(String),
      rid: room._id,
      u: { _id: p.user._id, username: p.user.username, name: p.user.name },
      roles,
    });
    const expected = [entry(alice, ["owner"]), entry(bob, ["moderator", "leader"])].sort((a, b) =>
      a.u.username.localeCompare(b.u.username),
    );
    expect(res.body).toEqual({ roles: expected, success: true });
  });

  test("groups.roles is refused to a non-member as a group that does not exist", async () => {
    const room = await addRoom(server, "p", alice);

    const res = await api(server, "groups.roles", {
      auth: carol.credentials,
      query: { roomId: room._id },
    });

    expect(res.body.errorType).toBe("error-room-not-found");
  });
});
