import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";

let server: TestServer;
let alice: Person;
let carol: Person;
let channel: Room;
let group: Room;

beforeAll(async () => {
  server = await startTestServer();
  [alice, carol] = [await addPerson(server), await addPerson(server)];
  channel = await addRoom(server, "c", alice);
  group = await addRoom(server, "p", alice);
  // A join code is a secret: no room listing may show it.
  await server.parley.services.deps.db.rooms.updateOne(
    { _id: channel._id },
    { $set: { joinCode: "s3cret" } },
  );
});

afterAll(() => server.stop());

describe("rooms.get", () => {
  test("returns the caller's rooms as update, without join codes", async () => {
    const res = await api(server, "rooms.get", { auth: alice.credentials });

    expect(res.status).toBe(200);
    expect(res.body.remove).toEqual([]);
    expect(res.body.update.map((r: Room) => r._id).sort()).toEqual([channel._id, group._id].sort());
    expect(res.body.update.find((r: Room) => r._id === channel._id)).not.toHaveProperty("joinCode");
  });

  test("refuses an updatedSince that is not a date", async () => {
    const res = await api(server, "rooms.get", {
      auth: alice.credentials,
      query: { updatedSince: "nope" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        'The "updatedSince" query parameter must be a valid date. [error-updatedSince-param-invalid]',
      errorType: "error-updatedSince-param-invalid",
    });
  });
});

describe("rooms.info", () => {
  test("returns a room by name to a member", async () => {
    const res = await api(server, "rooms.info", {
      auth: alice.credentials,
      query: { roomName: group.name as string },
    });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      room: expect.objectContaining({ _id: group._id, t: "p", name: group.name, usersCount: 1 }),
    });
  });

  test("returns a public channel to a non-member, without its join code", async () => {
    const res = await api(server, "rooms.info", {
      auth: carol.credentials,
      query: { roomId: channel._id },
    });

    expect(res.status).toBe(200);
    expect(res.body.room._id).toBe(channel._id);
    expect(res.body.room).not.toHaveProperty("joinCode");
  });

  test("a non-member is answered about a private group as about a room that does not exist", async () => {
    const missing = await api(server, "rooms.info", {
      auth: carol.credentials,
      query: { roomName: "no-such-room" },
    });

    const res = await api(server, "rooms.info", {
      auth: carol.credentials,
      query: { roomName: group.name as string },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual(missing.body);
  });

  test("a non-member learns nothing of an archived private group", async () => {
    const archived = await addRoom(server, "p", alice);
    await server.parley.services.deps.db.rooms.updateOne(
      { _id: archived._id },
      { $set: { archived: true } },
    );
    const missing = await api(server, "rooms.info", {
      auth: carol.credentials,
      query: { roomId: "no-such-room" },
    });

    const res = await api(server, "rooms.info", {
      auth: carol.credentials,
      query: { roomId: archived._id },
    });

    expect(res.body).toEqual(missing.body);
  });

  test("answers error-roomid-param-not-provided when neither parameter is given", async () => {
    const res = await api(server, "rooms.info", { auth: alice.credentials });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: 'The parameter "roomId" or "roomName" is required [error-roomid-param-not-provided]',
      errorType: "error-roomid-param-not-provided",
    });
  });

  test("answers error-room-not-found for an unknown room", async () => {
    const res = await api(server, "rooms.info", {
      auth: alice.credentials,
      query: { roomId: "missing" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        'The required "roomId" or "roomName" param provided does not match any channel [error-room-not-found]',
      errorType: "error-room-not-found",
    });
  });
});

describe("settings.public", () => {
  test("lists public settings without logging in, paged, sorted by id", async () => {
    const res = await api(server, "settings.public", { query: { count: "2", offset: "1" } });

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.body).toEqual({
      success: true,
      settings: [
        { _id: expect.any(String), value: expect.anything(), enterprise: false },
        { _id: expect.any(String), value: expect.anything(), enterprise: false },
      ],
      count: 2,
      offset: 1,
      total: expect.any(Number),
    });
    expect(res.body.total).toBeGreaterThan(2);
    expect(res.body.settings[0]._id < res.body.settings[1]._id).toBe(true);
  });

  test("returns only the ids named in a comma list", async () => {
    const res = await api(server, "settings.public", {
      query: { _id: "Site_Name,Message_MaxAllowedSize" },
    });

    expect(res.body).toEqual({
      success: true,
      settings: [
        { _id: "Message_MaxAllowedSize", value: 5000, enterprise: false },
        { _id: "Site_Name", value: "Parley", enterprise: false },
      ],
      count: 2,
      offset: 0,
      total: 2,
    });
  });

  test("never lists a private setting, even when asked by id", async () => {
    const res = await api(server, "settings.public", { query: { _id: "API_Default_Count" } });

    expect(res.body).toEqual({ success: true, settings: [], count: 0, offset: 0, total: 0 });
  });

  test("answers an empty page for an id that names nothing", async () => {
    const res = await api(server, "settings.public", { query: { _id: "10" } });

    expect(res.body).toEqual({ success: true, settings: [], count: 0, offset: 0, total: 0 });
  });
});
