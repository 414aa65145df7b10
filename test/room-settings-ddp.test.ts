/**
 * The room-management DDP methods over a real WebSocket: saveRoomSettings in both of its
 * forms, archiveRoom and unarchiveRoom, getRoomRoles and the role methods, with
 * Rocket.Chat's answers and errors, and the stream events their changes send.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { newestMessage, Watchers } from "./fixtures/room-watch.ts";
import { RawDdp, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const watchers = new Watchers();
let alice: Person;
let bob: Person;
let client: RawDdp;

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob] = [await addPerson(server), await addPerson(server)];
  client = await watchers.connect(server, alice);
});

afterAll(async () => {
  watchers.closeAll();
  await server.stop();
});

test("saveRoomSettings with one setting answers result and rid, and the room hears the message", async () => {
  const room = await addRoom(server, "c", alice, [bob]);
  await client.sub("stream-room-messages", room._id, false);
  const posted = client.streamEvent("stream-room-messages", room._id);

  const answer = await client.call("saveRoomSettings", room._id, "roomTopic", "from ddp");

  expect(answer.result).toEqual({ result: true, rid: room._id });
  const [message] = await posted;
  expect(message).toMatchObject({ t: "room_changed_topic", msg: "from ddp", rid: room._id });
});

test("saveRoomSettings with several settings applies them all", async () => {
  const room = await addRoom(server, "p", alice);

  const answer = await client.call("saveRoomSettings", room._id, {
    roomDescription: "about",
    roomAnnouncement: "news",
    reactWhenReadOnly: true,
  });

  expect(answer.result).toEqual({ result: true, rid: room._id });
  expect(await server.parley.services.rooms.byId(room._id)).toMatchObject({
    description: "about",
    announcement: "news",
    reactWhenReadOnly: true,
    msgs: 3,
  });
  expect((await newestMessage(server, room._id))?.t).toBe("room-allowed-reacting");
});

test("saveRoomSettings refuses a setting it does not know, changing nothing", async () => {
  const room = await addRoom(server, "c", alice);

  const answer = await client.call("saveRoomSettings", room._id, {
    roomTopic: "x",
    color: "red",
  });

  expect(answer.error).toMatchObject({
    error: "error-invalid-settings",
    reason: "Invalid settings provided",
    details: { method: "saveRoomSettings", setting: "color" },
  });
  expect((await server.parley.services.rooms.byId(room._id))?.topic).toBeUndefined();
});

test("saveRoomSettings of a room that does not exist is refused as an invalid room", async () => {
  const answer = await client.call("saveRoomSettings", "nope", "roomTopic", "x");

  expect(answer.error).toMatchObject({ error: "error-invalid-room", reason: "Invalid room" });
});

test("archiveRoom and unarchiveRoom answer no result", async () => {
  const room = await addRoom(server, "c", alice);
  const admin = await RawDdp.connect(server.wsUrl);
  await admin.resume(server.admin.authToken);

  const archived = await client.call("archiveRoom", room._id);
  const unarchived = await admin.call("unarchiveRoom", room._id);
  admin.close();

  expect([archived, unarchived].map((a) => ["result" in a, "error" in a])).toEqual([
    [false, false],
    [false, false],
  ]);
  expect((await newestMessage(server, room._id))?.t).toBe("room-unarchived");
});

test("addRoomOwner answers true and getRoomRoles lists the new owner", async () => {
  const room = await addRoom(server, "c", alice, [bob]);

  const added = await client.call("addRoomOwner", room._id, bob.user._id);
  const roles = await client.call("getRoomRoles", room._id);

  expect(added.result).toBe(true);
  const owners = (roles.result as { u: { _id: string }; roles: string[] }[]).map((r) => ({
    uid: r.u._id,
    roles: r.roles,
  }));
  expect(owners.sort((a, b) => a.uid.localeCompare(b.uid))).toEqual(
    [
      { uid: alice.user._id, roles: ["owner"] },
      { uid: bob.user._id, roles: ["owner"] },
    ].sort((a, b) => a.uid.localeCompare(b.uid)),
  );
});

test("removeRoomModerator of a member who is no moderator is refused", async () => {
  const room = await addRoom(server, "c", alice, [bob]);

  const answer = await client.call("removeRoomModerator", room._id, bob.user._id);

  expect(answer.error).toMatchObject({
    error: "error-user-not-moderator",
    reason: "User is not a moderator",
    details: { method: "removeRoomModerator" },
  });
});

test("a role method naming an unknown user is refused as an invalid user", async () => {
  const room = await addRoom(server, "c", alice);

  const answer = await client.call("addRoomLeader", room._id, "nobody-here");

  expect(answer.error).toMatchObject({ error: "error-invalid-user", reason: "Invalid user" });
});

test("getRoomRoles of a private group the caller is not in is refused", async () => {
  const room = await addRoom(server, "p", bob);

  const answer = await client.call("getRoomRoles", room._id);

  expect(answer.error).toMatchObject({ error: "error-invalid-user" });
});

test("the methods refuse an anonymous caller", async () => {
  const anonymous = await RawDdp.connect(server.wsUrl);

  const answer = await anonymous.call("saveRoomSettings", "GENERAL", "roomTopic", "x");
  anonymous.close();

  expect(answer.error).toMatchObject({ error: "error-invalid-user" });
});

test("a parameter of the wrong type fails Meteor's check", async () => {
  const answer = await client.call("archiveRoom", { $ne: "" });

  expect(answer.error).toMatchObject({ error: 400, reason: "Match failed" });
});
