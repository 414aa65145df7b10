/**
 * Archiving, hiding and saving several settings at once over real HTTP: channels and
 * groups archive/unarchive/close/open, rooms.changeArchivationState, rooms.saveRoomSettings
 * and the im.* management routes, with archive-room and unarchive-room flipped.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { newestMessage, Watchers } from "./fixtures/room-watch.ts";
import { Switches } from "./fixtures/switches.ts";
import { api, type Credentials, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
const watchers = new Watchers();
let alice: Person;
let bob: Person;

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  [alice, bob] = [await addPerson(server), await addPerson(server)];
});

afterEach(() => switches.restoreAll());

afterAll(async () => {
  watchers.closeAll();
  await server.stop();
});

const post = (path: string, who: Person | Credentials, body: Record<string, unknown>) =>
  api(server, path, { auth: "credentials" in who ? who.credentials : who, body });

const subOf = (rid: string, who: Person) =>
  server.parley.services.rooms.subscription(rid, who.user._id);

describe("archive", () => {
  test("channels.archive archives the room and its subscriptions and posts room-archived", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const watcher = await watchers.connect(server, bob);
    const event = `${bob.user._id}/rooms-changed`;
    await watcher.sub("stream-notify-user", event, false);
    const heard = watcher.streamEvent("stream-notify-user", event, ([, r]) => {
      return (r as { archived?: boolean }).archived === true;
    });

    const res = await post("channels.archive", alice, { roomId: room._id });
    const posted = await post("chat.postMessage", bob, { roomId: room._id, text: "still here?" });

    expect(res.body).toEqual({ success: true });
    expect(await subOf(room._id, bob)).toMatchObject({ archived: true, open: false, alert: false });
    expect(await newestMessage(server, room._id)).toMatchObject({ t: "room-archived", msg: "" });
    expect((await heard)[0]).toBe("updated");
    expect(posted.status).toBe(400);
  });

  test("archiving needs archive-room, which plain members lack", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const refused = await post("channels.archive", bob, { roomId: room._id });
    await switches.permission("archive-room", ["admin", "owner", "user"]);
    const allowed = await post("channels.archive", bob, { roomId: room._id });

    expect(refused.body).toEqual({
      success: false,
      error: "Not authorized [error-not-authorized]",
      errorType: "error-not-authorized",
      details: { method: "archiveRoom" },
    });
    expect(allowed.status).toBe(200);
  });

  test("channels.archive of an archived channel says it is archived", async () => {
    const room = await addRoom(server, "c", alice);
    await post("channels.archive", alice, { roomId: room._id });

    const res = await post("channels.archive", alice, { roomId: room._id });

    expect(res.body.error).toBe(`The channel, ${room.name}, is archived [error-room-archived]`);
  });

  test("unarchiving needs unarchive-room, which only admins hold by default", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    await post("groups.archive", alice, { roomId: room._id });

    const refused = await post("groups.unarchive", alice, { roomId: room._id });
    await switches.permission("unarchive-room", ["admin", "owner"]);
    const allowed = await post("groups.unarchive", alice, { roomId: room._id });

    expect(refused.body.errorType).toBe("error-not-authorized");
    expect(allowed.status).toBe(200);
    expect(await subOf(room._id, bob)).toMatchObject({ archived: false, open: true });
    expect((await newestMessage(server, room._id))?.t).toBe("room-unarchived");
  });

  test("channels.unarchive refuses a channel that is not archived", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.unarchive", server.admin, { roomId: room._id });

    expect(res.body).toEqual({
      success: false,
      error: `The channel, ${room.name}, is not archived`,
    });
  });

  test("rooms.changeArchivationState archives and unarchives", async () => {
    const room = await addRoom(server, "c", alice);

    await post("rooms.changeArchivationState", server.admin, { rid: room._id, action: "archive" });
    const archived = (await server.parley.services.rooms.byId(room._id))?.archived;
    await post("rooms.changeArchivationState", server.admin, { rid: room._id });

    expect(archived).toBe(true);
    expect((await server.parley.services.rooms.byId(room._id))?.archived).toBe(false);
  });

  test("a direct message cannot be archived", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);

    const res = await post("rooms.changeArchivationState", server.admin, {
      rid: dm._id,
      action: "archive",
    });

    expect(res.body.error).toBe("rooms type: d can not be archived [error-direct-message-room]");
  });
});

describe("close and open", () => {
  test("channels.close hides the room from the caller's list, once", async () => {
    const room = await addRoom(server, "c", alice);

    const first = await post("channels.close", alice, { roomId: room._id });
    const again = await post("channels.close", alice, { roomId: room._id });

    expect(first.body).toEqual({ success: true });
    expect((await subOf(room._id, alice))?.open).toBe(false);
    expect(again.body).toEqual({
      success: false,
      error: `The channel, ${room.name}, is already closed to the sender`,
    });
  });

  test("channels.open shows it again, and refuses one already open", async () => {
    const room = await addRoom(server, "c", alice);
    await post("channels.close", alice, { roomId: room._id });

    const opened = await post("channels.open", alice, { roomId: room._id });
    const again = await post("channels.open", alice, { roomId: room._id });

    expect(opened.body).toEqual({ success: true });
    expect(again.body.error).toBe(`The channel, ${room.name}, is already open to the sender`);
  });

  test("channels.close by a non-member names the channel", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.close", bob, { roomId: room._id });

    expect(res.body.error).toBe(`The user/callee is not in the channel "${room.name}.`);
  });

  test("groups.open words its refusal as Rocket.Chat's groups do", async () => {
    const room = await addRoom(server, "p", alice);

    const res = await post("groups.open", alice, { roomId: room._id });

    expect(res.body.error).toBe(`The private group, ${room.name}, is already open for the sender`);
  });

  test("im.close and im.open hide and show a direct message", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);

    const closed = await post("im.close", alice, { roomId: dm._id });
    const hidden = (await subOf(dm._id, alice))?.open;
    const again = await post("dm.close", alice, { roomId: dm._id });
    const opened = await post("im.open", alice, { roomId: dm._id });

    expect([closed.body, again.body, opened.body]).toEqual([
      { success: true },
      { success: false, error: "The direct message room, is already closed to the sender" },
      { success: true },
    ]);
    expect(hidden).toBe(false);
    expect((await subOf(dm._id, alice))?.open).toBe(true);
  });
});

describe("saving several settings", () => {
  test("rooms.saveRoomSettings applies each setting with its own message", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("rooms.saveRoomSettings", alice, {
      rid: room._id,
      roomTopic: "t",
      roomDescription: "d",
      readOnly: true,
    });

    expect(res.body).toEqual({ rid: room._id, success: true });
    expect(await server.parley.services.rooms.byId(room._id)).toMatchObject({
      topic: "t",
      description: "d",
      ro: true,
      msgs: 3,
    });
  });

  test("one refused setting leaves every other unchanged", async () => {
    const room = await addRoom(server, "c", alice);
    const other = await addRoom(server, "c", alice);

    const unknown = await post("rooms.saveRoomSettings", alice, {
      rid: room._id,
      roomTopic: "t",
      retentionEnabled: true,
    });
    const taken = await post("rooms.saveRoomSettings", alice, {
      rid: room._id,
      roomTopic: "t",
      roomName: other.name,
    });

    expect(unknown.body.errorType).toBe("error-invalid-settings");
    expect(taken.body.errorType).toBe("error-duplicate-channel-name");
    expect(await server.parley.services.rooms.byId(room._id)).toMatchObject({
      name: room.name,
      msgs: 0,
    });
  });

  test("rooms.saveRoomSettings of an unknown room is refused", async () => {
    const res = await post("rooms.saveRoomSettings", alice, { rid: "nope", roomTopic: "t" });

    expect(res.body).toMatchObject({ errorType: "error-invalid-room" });
  });

  test("im.setTopic needs edit-room, which members of a direct message lack", async () => {
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);

    const refused = await post("im.setTopic", alice, { roomId: dm._id, topic: "us" });
    await switches.permission("edit-room", ["admin", "owner", "moderator", "user"]);
    const allowed = await post("im.setTopic", alice, { roomId: dm._id, topic: "us" });

    expect(refused.body.errorType).toBe("error-action-not-allowed");
    expect(allowed.body).toEqual({ topic: "us", success: true });
    expect(await newestMessage(server, dm._id)).toMatchObject({ t: "room_changed_topic" });
  });

  test("im.setTopic answers the bare 403 for a direct message the caller is not in", async () => {
    const carol = await addPerson(server);
    const dm = await server.parley.services.rooms.createDirect(alice.user, [bob.user.username]);

    const res = await post("im.setTopic", carol, { roomId: dm._id, topic: "nosy" });

    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, error: "unauthorized" });
  });
});
