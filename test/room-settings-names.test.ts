/**
 * Room names over real HTTP: unique whatever their case when created and renamed, never
 * a user's name on rename, shaped by UTF8_Channel_Names_Validation, and with
 * UI_Allow_room_names_with_special_chars kept as the display name beside a slugged name.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { newestMessage } from "./fixtures/room-watch.ts";
import { Switches } from "./fixtures/switches.ts";
import { claimRoomName } from "../services/room-name-claims.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let switches: Switches;
let alice: Person;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
  switches = new Switches(server);
  alice = await addPerson(server);
});

afterEach(() => switches.restoreAll());

afterAll(() => server.stop());

/** A name no other test uses. */
function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

const create = (name: string) =>
  api(server, "channels.create", { auth: alice.credentials, body: { name } });

const rename = (roomId: string, name: string) =>
  api(server, "channels.rename", { auth: alice.credentials, body: { roomId, name } });

test("a channel whose name differs from another's only in case is refused", async () => {
  const name = fresh("Team");
  await create(name);

  const res = await create(name.toLowerCase());

  expect(res.body).toEqual({
    success: false,
    error: `A channel with name '${name.toLowerCase()}' exists [error-duplicate-channel-name]`,
    errorType: "error-duplicate-channel-name",
    details: { function: "RocketChat.getValidRoomName", channel_name: name.toLowerCase() },
  });
});

test("a rename to another room's name in another case is refused and changes nothing", async () => {
  const taken = fresh("Taken");
  await create(taken);
  const room = await addRoom(server, "c", alice);

  const res = await rename(room._id, taken.toUpperCase());

  expect(res.body.errorType).toBe("error-duplicate-channel-name");
  expect(await server.parley.services.rooms.byId(room._id)).toMatchObject({
    name: room.name,
    msgs: 0,
  });
});

test("a room may take its own name in another case", async () => {
  const room = await addRoom(server, "c", alice);

  const res = await rename(room._id, room.name?.toUpperCase() ?? "");

  expect(res.body.channel.name).toBe(room.name?.toUpperCase());
});

test("a rename to a user's name is refused as a taken handle", async () => {
  const room = await addRoom(server, "c", alice);
  const handle = alice.user.username.toUpperCase();

  const res = await rename(room._id, handle);

  expect(res.body).toEqual({
    success: false,
    error: `A room, team or user with name '${handle}' already exists [error-duplicate-handle]`,
    errorType: "error-duplicate-handle",
    details: { function: "RocketChat.updateRoomName", handle },
  });
});

test("a claim sees the name an earlier claim wrote, however close together they start", async () => {
  const { deps, settings } = server.parley.services;
  const name = fresh("Race");
  const writes: string[] = [];

  const first = claimRoomName(deps, settings, name, undefined, async (names) => {
    writes.push(names.name);
    const now = new Date();
    const room = { _id: `race-${counter}`, t: "c" as const, ...names, ts: now, _updatedAt: now };
    await deps.db.rooms.insertOne({ ...room, msgs: 0, usersCount: 0 });
  });
  const second = claimRoomName(deps, settings, name.toLowerCase(), undefined, async (names) => {
    writes.push(names.name);
  });

  await first;
  await expect(second).rejects.toMatchObject({ error: "error-duplicate-channel-name" });
  expect(writes).toEqual([name]);
});

test("a name held by an archived room is refused with its own error", async () => {
  const name = fresh("old");
  const created = await create(name);
  await server.parley.services.deps.db.rooms.updateOne(
    { _id: created.body.channel._id },
    { $set: { archived: true } },
  );

  const res = await create(name);

  expect(res.body.error).toBe(
    `There's an archived channel with name ${name} [error-archived-duplicate-name]`,
  );
});

test("UTF8_Channel_Names_Validation decides which names are valid", async () => {
  const name = fresh("digits");
  await switches.setting("UTF8_Channel_Names_Validation", "[a-z-]+");

  const res = await create(name);

  expect(res.body.errorType).toBe("error-invalid-room-name");
});

test("an invalid name is quoted with HTML escaped", async () => {
  const res = await create("<b>x</b>");

  expect(res.body.error).toBe(
    "&lt;b&gt;x&lt;/b&gt; is not a valid room name. [error-invalid-room-name]",
  );
});

test("a display name with spaces and accents is refused while special characters are off", async () => {
  const res = await create(`Café ${fresh("talk")}`);

  expect(res.body.errorType).toBe("error-invalid-room-name");
});

test("with special characters on, a display name is kept as fname beside a slugged name", async () => {
  await switches.setting("UI_Allow_room_names_with_special_chars", true);
  const tail = fresh("talk");

  const res = await create(`Café <b>${tail}</b>`);

  expect(res.body.channel).toMatchObject({
    fname: `Café <b>${tail}</b>`,
    name: `Cafe-b-${tail}-b`,
  });
});

test("with special characters on, a second room of the same shown name is refused", async () => {
  await switches.setting("UI_Allow_room_names_with_special_chars", true);
  const shown = `Plans ${fresh("q")}`;
  await create(shown);

  const res = await create(shown.toUpperCase());

  expect(res.body.errorType).toBe("error-duplicate-channel-name");
});

test("with special characters on, a slug another room holds gets a number", async () => {
  await switches.setting("UI_Allow_room_names_with_special_chars", true);
  const tail = fresh("n");
  await create(`News ${tail}`);

  const res = await create(`News  ${tail}!`);

  expect(res.body.channel).toMatchObject({ fname: `News  ${tail}!`, name: `News-${tail}-1` });
});

test("with special characters on, a rename keeps the display name and posts it", async () => {
  await switches.setting("UI_Allow_room_names_with_special_chars", true);
  const room = await addRoom(server, "c", alice);
  const shown = `Équipe ${fresh("r")}`;

  const res = await rename(room._id, shown);

  expect(res.body.channel).toMatchObject({
    fname: shown,
    name: shown.replace("É", "E").replace(" ", "-"),
  });
  expect(await newestMessage(server, room._id)).toMatchObject({ t: "r", msg: shown });
});
