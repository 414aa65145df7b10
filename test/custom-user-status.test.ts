/**
 * Custom user statuses over REST: listing for anyone logged in, and creating, updating and
 * deleting for holders of `manage-user-status`, with Rocket.Chat's checks and errors;
 * changes are announced on `stream-notify-logged`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, seedUser } from "./ddp-helpers.ts";
import { api, type Credentials, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let plain: Credentials;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer();
  plain = (await seedUser(server, "plain")).credentials;
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

async function create(body: unknown, auth: Credentials = server.admin) {
  return api(server, "custom-user-status.create", { auth, body });
}

describe("custom-user-status", () => {
  test("an administrator creates a status that everyone lists, by name or id", async () => {
    const name = `Lunch ${crypto.randomUUID().slice(0, 6)}`;

    const created = await create({ name, statusType: "away" });

    expect(created.status).toBe(200);
    const status = created.body.customUserStatus;
    expect(status).toMatchObject({ name, statusType: "away" });
    expect(typeof status._id).toBe("string");
    const byName = await api(server, "custom-user-status.list", {
      auth: plain,
      query: { name: name.toLowerCase().slice(0, 8) },
    });
    expect(byName.body).toMatchObject({ count: 1, offset: 0, total: 1, success: true });
    expect(byName.body.statuses[0]).toEqual(status);
    const byId = await api(server, "custom-user-status.list", {
      auth: plain,
      query: { _id: status._id },
    });
    expect(byId.body.statuses).toEqual([status]);
    const unknown = await api(server, "custom-user-status.list", {
      auth: plain,
      query: { name: "no such status" },
    });
    expect(unknown.body).toEqual({ statuses: [], count: 0, offset: 0, total: 0, success: true });
  });

  test("a user without manage-user-status may not create, update or delete", async () => {
    const existing = (await create({ name: `Kept ${Date.now()}` })).body.customUserStatus;
    const refusal = {
      success: false,
      error: "[not_authorized]",
      errorType: "not_authorized",
    };

    const created = await create({ name: "Mine" }, plain);
    const updated = await api(server, "custom-user-status.update", {
      auth: plain,
      body: { _id: existing._id, name: "Taken over" },
    });
    const deleted = await api(server, "custom-user-status.delete", {
      auth: plain,
      body: { customUserStatusId: existing._id },
    });

    for (const res of [created, updated, deleted]) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual(refusal);
    }
    const listed = await api(server, "custom-user-status.list", {
      auth: plain,
      query: { _id: existing._id },
    });
    expect(listed.body.statuses).toEqual([existing]);
  });

  test("names are required, free of markup characters and unique; types are the four", async () => {
    const name = `Unique ${Date.now()}`;
    await create({ name });

    const blank = await create({ name: "  " });
    const markup = await create({ name: "<b>bold</b>" });
    const twice = await create({ name });
    const badType = await create({ name: `Other ${Date.now()}`, statusType: "sleeping" });
    const extra = await create({ name: `Extra ${Date.now()}`, color: "red" });

    expect(blank.body.errorType).toBe("error-the-field-is-required");
    expect(markup.body).toMatchObject({
      error: "<b>bold</b> is not a valid name [error-input-is-not-a-valid-field]",
      errorType: "error-input-is-not-a-valid-field",
    });
    expect(twice.body).toMatchObject({
      error:
        "The custom user status name is already in use [Custom_User_Status_Error_Name_Already_In_Use]",
    });
    expect(badType.body.error).toBe(
      "sleeping is not a valid status type [error-input-is-not-a-valid-field]",
    );
    expect(extra.body).toEqual({
      success: false,
      error: "Match error: Unknown key in field color",
    });
  });

  test("a body that is not an object is refused with Meteor's match error", async () => {
    const name = `Kept ${Date.now()}`;
    // The helper sends a string as it is: quoted, it travels as a JSON string.
    const bodies = [5, true, JSON.stringify(name), [name]];

    const answers = [];
    for (const body of bodies) {
      for (const route of ["custom-user-status.create", "custom-user-status.update"]) {
        const res = await api(server, route, { auth: server.admin, body });
        answers.push({ status: res.status, body: res.body });
      }
    }
    const listed = await api(server, "custom-user-status.list", {
      auth: server.admin,
      query: { name },
    });

    const refusal = (error: string) => ({ status: 400, body: { success: false, error } });
    expect(answers).toEqual([
      refusal("Match error: Expected object, got number"),
      refusal("Match error: Expected object, got number"),
      refusal("Match error: Expected object, got boolean"),
      refusal("Match error: Expected object, got boolean"),
      refusal("Match error: Expected object, got string"),
      refusal("Match error: Expected object, got string"),
      refusal("Match error: Expected plain object"),
      refusal("Match error: Expected plain object"),
    ]);
    expect(listed.body.statuses).toEqual([]);
  });

  test("an update renames and retypes, and is announced; a delete removes and is announced", async () => {
    const listener = await clients.connect(server, await seedUser(server, "listener"));
    await listener.sub("stream-notify-logged", "updateCustomUserStatus", false);
    await listener.sub("stream-notify-logged", "deleteCustomUserStatus", false);
    const status = (await create({ name: `Before ${Date.now()}`, statusType: "busy" })).body
      .customUserStatus;

    const renamed = `After ${Date.now()}`;
    const updated = await api(server, "custom-user-status.update", {
      auth: server.admin,
      body: { _id: status._id, name: renamed, statusType: "online" },
    });
    const deleted = await api(server, "custom-user-status.delete", {
      auth: server.admin,
      body: { customUserStatusId: status._id },
    });

    expect(updated.body.customUserStatus).toMatchObject({
      _id: status._id,
      name: renamed,
      statusType: "online",
    });
    expect(deleted.body).toEqual({ success: true });
    const [announced] = await listener.streamEvent(
      "stream-notify-logged",
      "updateCustomUserStatus",
      (args) => (args[0] as { userStatusData: { name: string } }).userStatusData.name === renamed,
    );
    expect(announced).toEqual({
      userStatusData: { _id: status._id, name: renamed, statusType: "online" },
    });
    const [gone] = await listener.streamEvent("stream-notify-logged", "deleteCustomUserStatus");
    expect(gone).toEqual({
      userStatusData: {
        _id: status._id,
        name: renamed,
        statusType: "online",
        _updatedAt: new Date(updated.body.customUserStatus._updatedAt),
      },
    });
    const again = await api(server, "custom-user-status.delete", {
      auth: server.admin,
      body: { customUserStatusId: status._id },
    });
    expect(again.body).toMatchObject({ errorType: "Custom_User_Status_Error_Invalid_User_Status" });
  });

  test("an update without a type keeps the type", async () => {
    const status = (await create({ name: `Typed ${Date.now()}`, statusType: "busy" })).body
      .customUserStatus;

    const updated = await api(server, "custom-user-status.update", {
      auth: server.admin,
      body: { _id: status._id, name: `Retitled ${Date.now()}` },
    });

    expect(updated.body.customUserStatus.statusType).toBe("busy");
  });

  test("updating or deleting needs an existing id", async () => {
    const update = await api(server, "custom-user-status.update", {
      auth: server.admin,
      body: { _id: "nope", name: "Anything" },
    });
    const missing = await api(server, "custom-user-status.delete", {
      auth: server.admin,
      body: {},
    });

    expect(update.body).toEqual({
      success: false,
      error: 'No custom user status found with the id of "nope".',
    });
    expect(missing.body).toEqual({
      success: false,
      error: 'The "customUserStatusId" params is required!',
    });
  });

  test("DDP listCustomUserStatus answers every custom status", async () => {
    const name = `Listed ${Date.now()}`;
    const status = (await create({ name })).body.customUserStatus;
    const client = await clients.connect(server, await seedUser(server, "lister"));

    const answer = await client.call("listCustomUserStatus");

    expect((answer.result as { _id: string }[]).map((s) => s._id)).toContain(status._id);
  });
});
