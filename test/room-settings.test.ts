/**
 * The settings routes of channels.* and groups.* over real HTTP: each change with its
 * system message and `msgs`, what members hear on their streams, the permissions that
 * guard each change (flipped through the store), and Rocket.Chat's refusals.
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

const post = (path: string, who: Person | Credentials, body: Record<string, unknown>) =>
  api(server, path, { auth: "credentials" in who ? who.credentials : who, body });

describe("rename", () => {
  test("channels.rename renames the room and each member's subscription, posting r", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const name = `renamed-${room._id}`;

    const res = await post("channels.rename", alice, { roomId: room._id, name });

    expect(res.status).toBe(200);
    expect(res.body.channel).toMatchObject({ _id: room._id, name, fname: name, msgs: 1 });
    const sub = await server.parley.services.rooms.subscription(room._id, bob.user._id);
    expect(sub).toMatchObject({ name, fname: name, alert: true });
    expect(await newestMessage(server, room._id)).toMatchObject({
      t: "r",
      msg: name,
      u: { _id: alice.user._id, username: alice.user.username },
    });
  });

  test("groups.rename answers the group under its new name", async () => {
    const room = await addRoom(server, "p", alice);

    const res = await post("groups.rename", alice, { roomId: room._id, name: `g-${room._id}` });

    expect(res.body.group).toMatchObject({ _id: room._id, t: "p", name: `g-${room._id}` });
  });

  test("a member without edit-room may not rename", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const res = await post("channels.rename", bob, { roomId: room._id, name: `x-${room._id}` });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Editing room is not allowed [error-action-not-allowed]",
      errorType: "error-action-not-allowed",
      details: { method: "saveRoomSettings", action: "Editing_room" },
    });
  });

  test("a member may rename once edit-room is granted to every user", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    await switches.permission("edit-room", ["admin", "owner", "moderator", "user"]);

    const res = await post("channels.rename", bob, { roomId: room._id, name: `y-${room._id}` });

    expect(res.status).toBe(200);
  });

  test("channels.rename refuses the name the channel has", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.rename", alice, { roomId: room._id, name: room.name });

    expect(res.body).toEqual({
      success: false,
      error: "The channel name is the same as what it would be renamed to.",
    });
  });
});

describe("topic, description, purpose and announcement", () => {
  test("channels.setTopic answers the topic, posts room_changed_topic and tells members", async () => {
    const room = await addRoom(server, "c", alice, [bob]);
    const watcher = await watchers.connect(server, bob);
    await watcher.sub("stream-notify-user", `${bob.user._id}/rooms-changed`, false);
    const changed = watcher.streamEvent(
      "stream-notify-user",
      `${bob.user._id}/rooms-changed`,
      ([, r]) => (r as { topic?: string }).topic === "plans",
    );

    const res = await post("channels.setTopic", alice, { roomId: room._id, topic: "plans" });

    expect(res.body).toEqual({ topic: "plans", success: true });
    const [action, announced] = await changed;
    expect(action).toBe("updated");
    expect(announced).toMatchObject({ _id: room._id, topic: "plans", msgs: 1 });
    expect(await newestMessage(server, room._id)).toMatchObject({
      t: "room_changed_topic",
      msg: "plans",
      groupable: false,
    });
  });

  test("a topic that looks like HTML is stored and answered as the text it is", async () => {
    const room = await addRoom(server, "c", alice);
    const topic = `<b>bold</b><script>alert("x")</script> & more`;

    await post("channels.setTopic", alice, { roomId: room._id, topic });

    const info = await api(server, "channels.info", {
      auth: alice.credentials,
      query: { roomId: room._id },
    });
    expect(info.body.channel.topic).toBe(topic);
    expect((await newestMessage(server, room._id))?.msg).toBe(topic);
  });

  test("channels.setTopic refuses the topic the channel has", async () => {
    const room = await addRoom(server, "c", alice);
    await post("channels.setTopic", alice, { roomId: room._id, topic: "same" });

    const res = await post("channels.setTopic", alice, { roomId: room._id, topic: "same" });

    expect(res.body).toEqual({
      success: false,
      error: "The channel topic is the same as what it would be changed to.",
    });
  });

  test("setTopic without a topic names the missing parameter", async () => {
    const room = await addRoom(server, "p", alice);

    const res = await post("groups.setTopic", alice, { roomId: room._id });

    expect(res.body).toEqual({ success: false, error: 'The bodyParam "topic" is required' });
  });

  test("setDescription and setPurpose both set the description", async () => {
    const room = await addRoom(server, "p", alice);

    const described = await post("groups.setDescription", alice, {
      roomId: room._id,
      description: "first",
    });
    const purposed = await post("groups.setPurpose", alice, { roomId: room._id, purpose: "then" });

    expect([described.body, purposed.body]).toEqual([
      { description: "first", success: true },
      { purpose: "then", success: true },
    ]);
    const stored = await server.parley.services.rooms.byId(room._id);
    expect(stored).toMatchObject({ description: "then", msgs: 2 });
    expect(await newestMessage(server, room._id)).toMatchObject({
      t: "room_changed_description",
      msg: "then",
    });
  });

  test("channels.setAnnouncement posts room_changed_announcement", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.setAnnouncement", alice, {
      roomName: room.name,
      announcement: "party at 5",
    });

    expect(res.body).toEqual({ announcement: "party at 5", success: true });
    expect(await newestMessage(server, room._id)).toMatchObject({
      t: "room_changed_announcement",
      msg: "party at 5",
    });
  });

  test("channels.setAnnouncement names a missing announcement in ajv's words", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.setAnnouncement", alice, { roomId: room._id });

    expect(res.body).toEqual({
      success: false,
      error: "must have required property 'announcement' [invalid-params]",
      errorType: "invalid-params",
    });
  });

  test("a topic longer than a message may be is refused and nothing changes", async () => {
    const room = await addRoom(server, "c", alice);
    await switches.setting("Message_MaxAllowedSize", 10);

    const res = await post("channels.setTopic", alice, { roomId: room._id, topic: "x".repeat(11) });

    expect(res.body.errorType).toBe("error-message-size-exceeded");
    expect(await server.parley.services.rooms.byId(room._id)).toMatchObject({ msgs: 0 });
  });
});

describe("read-only, type, default, join code and custom fields", () => {
  test("setReadOnly posts room-set-read-only and members may no longer post", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const res = await post("channels.setReadOnly", alice, { roomId: room._id, readOnly: true });
    const posted = await post("chat.postMessage", bob, { roomId: room._id, text: "hi" });

    expect(res.body.channel).toMatchObject({ ro: true, msgs: 1 });
    expect((await newestMessage(server, room._id))?.t).toBe("room-set-read-only");
    expect(posted.body).toEqual({
      success: false,
      error: "You can't send messages because the room is readonly.",
    });
  });

  test("setReadOnly false posts room-removed-read-only", async () => {
    const room = await addRoom(server, "p", alice);
    await post("groups.setReadOnly", alice, { roomId: room._id, readOnly: true });

    const res = await post("groups.setReadOnly", alice, { roomId: room._id, readOnly: false });

    expect(res.body.group).toMatchObject({ ro: false, msgs: 2 });
    expect((await newestMessage(server, room._id))?.t).toBe("room-removed-read-only");
  });

  test("setType makes a channel private: its subscriptions follow and outsiders lose it", async () => {
    const room = await addRoom(server, "c", alice, [bob]);

    const res = await post("channels.setType", alice, { roomId: room._id, type: "p" });

    expect(res.body.channel).toMatchObject({ _id: room._id, t: "p", msgs: 1 });
    expect(await newestMessage(server, room._id)).toMatchObject({
      t: "room_changed_privacy",
      msg: "private",
    });
    expect(await server.parley.services.rooms.subscription(room._id, bob.user._id)).toMatchObject({
      t: "p",
    });
    const outsider = await api(server, "groups.info", {
      auth: carol.credentials,
      query: { roomId: room._id },
    });
    expect(outsider.body.errorType).toBe("error-room-not-found");
  });

  test("making a channel private needs create-p", async () => {
    const room = await addRoom(server, "c", alice);
    await switches.permission("create-p", ["admin"]);

    const res = await post("channels.setType", alice, { roomId: room._id, type: "p" });

    expect(res.body).toMatchObject({
      error:
        "Changing a public channel to a private room is not allowed [error-action-not-allowed]",
      details: { method: "saveRoomSettings", action: "Change_Room_Type" },
    });
  });

  test("making a group public needs create-c", async () => {
    const room = await addRoom(server, "p", alice);
    await switches.permission("create-c", ["admin"]);

    const refused = await post("groups.setType", alice, { roomId: room._id, type: "c" });
    await switches.restoreAll();
    const allowed = await post("groups.setType", alice, { roomId: room._id, type: "c" });

    expect(refused.body.error).toBe(
      "Changing a private group to a public channel is not allowed [error-action-not-allowed]",
    );
    expect(allowed.body.group).toMatchObject({ t: "c" });
    expect((await newestMessage(server, room._id))?.msg).toBe("public");
  });

  test("setType refuses a type other than c and p", async () => {
    const room = await addRoom(server, "p", alice);

    const res = await post("groups.setType", alice, { roomId: room._id, type: "d" });

    expect(res.body).toMatchObject({ errorType: "error-invalid-room-type" });
    expect((await server.parley.services.rooms.byId(room._id))?.t).toBe("p");
  });

  test("setDefault needs view-room-administration, which owners lack by default", async () => {
    const room = await addRoom(server, "c", alice);

    const refused = await post("channels.setDefault", alice, { roomId: room._id, default: true });
    await switches.permission("view-room-administration", ["admin", "user"]);
    const allowed = await post("channels.setDefault", alice, { roomId: room._id, default: true });

    expect(refused.body.error).toBe(
      "Viewing room administration is not allowed [error-action-not-allowed]",
    );
    expect(allowed.body.channel).toMatchObject({ default: true, msgs: 0 });
  });

  test("setDefault names an unchanged value with Rocket.Chat's errorType", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.setDefault", server.admin, {
      roomId: room._id,
      default: false,
    });

    expect(res.body).toEqual({
      success: false,
      error: "The channel default setting is the same as what it would be changed to.",
      errorType: "error-channels-setdefault-missing-default-param",
    });
  });

  test("setJoinCode never shows the code, and joining then needs it", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.setJoinCode", alice, { roomId: room._id, joinCode: "s3cret" });
    const without = await post("channels.join", carol, { roomId: room._id });
    const withCode = await post("channels.join", carol, { roomId: room._id, joinCode: "s3cret" });

    expect(res.body.channel).toMatchObject({ joinCodeRequired: true, msgs: 0 });
    expect(res.body.channel).not.toHaveProperty("joinCode");
    expect(without.body.errorType).toBe("error-code-invalid");
    expect(withCode.status).toBe(200);
  });

  test("setCustomFields replaces the fields of the room and of its subscriptions", async () => {
    const room = await addRoom(server, "p", alice, [bob]);
    await post("groups.setCustomFields", alice, { roomId: room._id, customFields: { a: 1 } });

    const res = await post("groups.setCustomFields", alice, {
      roomId: room._id,
      customFields: { b: "two" },
    });

    expect(res.body.group.customFields).toEqual({ b: "two" });
    const sub = await server.parley.services.rooms.subscription(room._id, bob.user._id);
    expect(sub?.customFields).toEqual({ b: "two" });
  });

  test("setCustomFields refuses anything but an object", async () => {
    const room = await addRoom(server, "c", alice);

    const res = await post("channels.setCustomFields", alice, {
      roomId: room._id,
      customFields: "",
    });

    expect(res.body).toEqual({
      success: false,
      error: 'The bodyParam "customFields" is required with a type like object.',
    });
  });

  test("a private group's settings answer a non-member as a group that does not exist", async () => {
    const room = await addRoom(server, "p", alice);

    const res = await post("groups.setTopic", carol, { roomId: room._id, topic: "mine" });

    expect(res.body.errorType).toBe("error-room-not-found");
    expect((await server.parley.services.rooms.byId(room._id))?.topic).toBeUndefined();
  });
});
