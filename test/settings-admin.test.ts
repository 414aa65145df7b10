/**
 * Settings as administrators see them: reading and changing one setting over REST, the
 * change taking effect at once and being announced on the streams, listing every
 * setting, the empty login-service lists, and `private-settings/get` over DDP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Room } from "../core/models.ts";
import { fence } from "./ddp-helpers.ts";
import { addPerson, addRoom, type Person } from "./fixtures/people.ts";
import { api, RawDdp, startTestServer, type TestServer } from "./helpers.ts";

const UNAUTHORIZED = {
  success: false,
  error: "User does not have the permissions required for this action [error-unauthorized]",
};

const NOT_ALLOWED = {
  isClientSafe: true,
  error: "not-allowed",
  reason: "Not allowed",
  message: "Not allowed [not-allowed]",
  errorType: "Meteor.Error",
};

let server: TestServer;
let alice: Person;
let channel: Room;
const sockets: RawDdp[] = [];

beforeAll(async () => {
  server = await startTestServer();
  alice = await addPerson(server);
  channel = await addRoom(server, "c", alice);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.stop();
});

/** A DDP client, logged in with `token` when given, closed after the file. */
async function ddp(token?: string): Promise<RawDdp> {
  const client = await RawDdp.connect(server.wsUrl);
  sockets.push(client);
  if (token) await client.resume(token);
  return client;
}

function setAsAdmin(id: string, value: unknown) {
  return api(server, `settings/${id}`, { auth: server.admin, body: { value } });
}

describe("GET settings/:_id", () => {
  test("an administrator reads one setting as its id and value", async () => {
    const res = await api(server, "settings/Site_Name", { auth: server.admin });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: "Site_Name", value: "Parley", success: true });
  });

  test("a user without view-privileged-setting is refused even a public setting", async () => {
    const res = await api(server, "settings/Site_Name", { auth: alice.credentials });

    expect(res.status).toBe(403);
    expect(res.body).toEqual(UNAUTHORIZED);
  });

  test("an unknown setting is a bare 400", async () => {
    const res = await api(server, "settings/No_Such_Setting", { auth: server.admin });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false });
  });

  test("a caller who is not logged in gets a 401", async () => {
    const res = await api(server, "settings/Site_Name");

    expect(res.status).toBe(401);
  });
});

describe("POST settings/:_id", () => {
  test("an administrator's change is answered with success and read back", async () => {
    const res = await setAsAdmin("Accounts_SearchFields", "username, name");

    const after = await api(server, "settings/Accounts_SearchFields", { auth: server.admin });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect(after.body).toEqual({
      _id: "Accounts_SearchFields",
      value: "username, name",
      success: true,
    });
  });

  test("a value of the wrong type is refused and the setting keeps its value", async () => {
    const res = await setAsAdmin("Message_AllowPinning", "yes");

    const after = await api(server, "settings/Message_AllowPinning", { auth: server.admin });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Invalid setting value yes [error-invalid-setting-value]",
      errorType: "error-invalid-setting-value",
      details: { method: "saveSettings" },
    });
    expect(after.body.value).toBe(true);
  });

  test("an integer setting refuses a fraction", async () => {
    const res = await setAsAdmin("DirectMesssage_maxUsers", 2.5);

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe("error-invalid-setting-value");
  });

  test("an unknown setting and a missing value are bare 400s", async () => {
    const unknown = await setAsAdmin("No_Such_Setting", true);
    const missing = await api(server, "settings/Site_Name", { auth: server.admin, body: {} });

    expect([unknown.status, unknown.body]).toEqual([400, { success: false }]);
    expect([missing.status, missing.body]).toEqual([400, { success: false }]);
  });

  test("a user without edit-privileged-setting is refused", async () => {
    const res = await api(server, "settings/Site_Name", {
      auth: alice.credentials,
      body: { value: "Mine" },
    });

    const after = await api(server, "settings/Site_Name", { auth: server.admin });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(UNAUTHORIZED);
    expect(after.body.value).toBe("Parley");
  });

  test("a lower Message_MaxAllowedSize refuses the next longer message at once", async () => {
    const send = () =>
      api(server, "chat.sendMessage", {
        auth: alice.credentials,
        body: { message: { rid: channel._id, msg: "twelve chars" } },
      });
    const before = await send();

    await setAsAdmin("Message_MaxAllowedSize", 10);
    const refused = await send();
    await setAsAdmin("Message_MaxAllowedSize", 5000);

    expect(before.status).toBe(200);
    expect(refused.status).toBe(400);
    expect(refused.body.errorType).toBe("error-message-size-exceeded");
  });

  test("a change survives a restart", async () => {
    const own = await startTestServer();
    await api(own, "settings/Site_Name", { auth: own.admin, body: { value: "Kept" } });
    await own.stop(true);
    const restarted = await startTestServer({ dataDir: own.dataDir });

    const res = await api(restarted, "settings/Site_Name", { auth: restarted.admin }).finally(() =>
      restarted.stop(),
    );

    expect(res.body).toEqual({ _id: "Site_Name", value: "Kept", success: true });
  });
});

describe("announcements", () => {
  test("a public setting's change reaches anonymous listeners of stream-notify-all", async () => {
    const listener = await ddp();
    await listener.sub("stream-notify-all", "public-settings-changed", false);
    const heard = listener.streamEvent("stream-notify-all", "public-settings-changed");

    await setAsAdmin("UI_DisplayRoles", false);
    await setAsAdmin("UI_DisplayRoles", true);

    expect(await heard).toEqual([
      "updated",
      { _id: "UI_DisplayRoles", value: false, enterprise: false, requiredOnWizard: false },
    ]);
  });

  test("a private setting's change reaches administrators only, not stream-notify-all", async () => {
    const admin = await ddp(server.admin.authToken);
    const anonymous = await ddp();
    await admin.sub("stream-notify-logged", "private-settings-changed", false);
    await anonymous.sub("stream-notify-all", "public-settings-changed", false);
    const heard = admin.streamEvent("stream-notify-logged", "private-settings-changed");

    await setAsAdmin("Accounts_SearchFields", "username");
    await fence(anonymous);

    expect(await heard).toEqual([
      "updated",
      {
        _id: "Accounts_SearchFields",
        value: "username",
        enterprise: false,
        requiredOnWizard: false,
      },
    ]);
    expect(
      anonymous.frames.filter((f) => JSON.stringify(f).includes("Accounts_SearchFields")),
    ).toEqual([]);
  });

  test("a user without the setting permissions may not listen to private changes", async () => {
    const client = await ddp(alice.credentials.authToken);

    const answer = await client.sub("stream-notify-logged", "private-settings-changed", false);

    expect(answer).toEqual({ msg: "nosub", id: answer.id, error: NOT_ALLOWED });
  });
});

describe("GET settings", () => {
  test("an administrator lists private settings too, with defaults on request", async () => {
    const res = await api(server, "settings", {
      auth: server.admin,
      query: {
        includeDefaults: "true",
        count: "0",
        query: JSON.stringify({ $or: [{ _id: "Site_Name" }, { _id: "Accounts_SearchFields" }] }),
      },
    });

    const ids = res.body.settings.map((s: { _id: string }) => s._id);
    expect(res.status).toBe(200);
    expect(ids).toContain("Accounts_SearchFields");
    expect(res.body.settings.find((s: { _id: string }) => s._id === "Site_Name")).toEqual({
      _id: "Site_Name",
      value: "Parley",
      enterprise: false,
      packageValue: "Parley",
    });
    // One page holds at most API_Upper_Count_Limit (100) of the settings.
    expect(res.body).toMatchObject({ count: ids.length, offset: 0 });
    expect(res.body.total).toBeGreaterThanOrEqual(ids.length);
  });

  test("a user without view-privileged-setting lists the public settings only", async () => {
    const res = await api(server, "settings", { auth: alice.credentials, query: { count: "0" } });
    const pub = await api(server, "settings.public", { query: { count: "0" } });

    expect(res.status).toBe(200);
    expect(res.body).toEqual(pub.body);
  });

  test("pages with count and offset", async () => {
    const res = await api(server, "settings", {
      auth: server.admin,
      query: { count: "2", offset: "1" },
    });

    expect(res.body.settings).toHaveLength(2);
    expect(res.body).toMatchObject({ count: 2, offset: 1, success: true });
    expect(res.body.total).toBeGreaterThan(3);
  });
});

describe("login services", () => {
  test("settings.oauth answers an empty list without a login", async () => {
    const res = await api(server, "settings.oauth");

    expect([res.status, res.body]).toEqual([200, { services: [], success: true }]);
  });

  test("service.configurations answers an empty list", async () => {
    const res = await api(server, "service.configurations");

    expect([res.status, res.body]).toEqual([200, { configurations: [], success: true }]);
  });
});

describe("private-settings/get", () => {
  test("an administrator gets every setting, private ones included", async () => {
    const client = await ddp(server.admin.authToken);

    const answer = await client.call("private-settings/get");

    const ids = (answer.result as { _id: string }[]).map((s) => s._id);
    expect(ids).toContain("Accounts_SearchFields");
    expect(ids).toContain("Site_Name");
  });

  test("a user without the setting permissions gets none", async () => {
    const client = await ddp(alice.credentials.authToken);

    const answer = await client.call("private-settings/get");

    expect(answer.result).toEqual([]);
  });
});
