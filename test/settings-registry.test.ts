/**
 * The settings registry as clients read it: each setting stored with Rocket.Chat's
 * fields (type, group, section, labels, choices), the `query`, `fields` and `sort`
 * parameters of `settings.public` and `settings`, and an existing workspace brought up to
 * the definitions at start without losing its values; and the DDP methods
 * `public-settings/get` and `private-settings/get`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Clients, type SeededUser, seedUser } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
let alice: SeededUser;
const clients = new Clients();

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "registry");
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** `settings.public` with `query` as strings. */
function publicSettings(query: Record<string, string>) {
  return api(server, "settings.public", { query });
}

describe("stored settings", () => {
  test("a select carries its group, section, labels and choices as Rocket.Chat stores them", async () => {
    const res = await publicSettings({
      _id: "Accounts_RegistrationForm",
      fields: JSON.stringify({
        type: 1,
        group: 1,
        section: 1,
        subsection: 1,
        i18nLabel: 1,
        i18nDescription: 1,
        values: 1,
        public: 1,
        packageValue: 1,
      }),
    });

    expect(res.body.settings).toEqual([
      {
        _id: "Accounts_RegistrationForm",
        value: "Public",
        enterprise: false,
        type: "select",
        group: "Accounts",
        section: "Accounts_Section_Registration_SignUp",
        subsection: "Accounts_Subsection_Who_Can_Join",
        i18nLabel: "Accounts_RegistrationForm",
        i18nDescription: "Accounts_RegistrationForm_Description",
        values: [
          { key: "Public", i18nLabel: "Accounts_RegistrationForm_Public" },
          { key: "Secret URL", i18nLabel: "Accounts_RegistrationForm_Secret_URL" },
          { key: "Disabled", i18nLabel: "Accounts_RegistrationForm_Disabled" },
        ],
        public: true,
        packageValue: "Public",
      },
    ]);
  });

  test("labels and groups follow Rocket.Chat where it names them itself", async () => {
    const res = await publicSettings({
      _id: "Threads_enabled,Discussion_enabled,UI_Use_Real_Name,API_Upper_Count_Limit",
      fields: JSON.stringify({ group: 1, section: 1, i18nLabel: 1 }),
    });

    expect(res.body.settings).toEqual([
      {
        _id: "API_Upper_Count_Limit",
        value: 100,
        enterprise: false,
        group: "General",
        section: "REST API",
        i18nLabel: "API_Upper_Count_Limit",
      },
      {
        _id: "Discussion_enabled",
        value: true,
        enterprise: false,
        group: "Discussion",
        i18nLabel: "Enable",
      },
      {
        _id: "Threads_enabled",
        value: true,
        enterprise: false,
        group: "Threads",
        i18nLabel: "Enable",
      },
      {
        _id: "UI_Use_Real_Name",
        value: false,
        enterprise: false,
        group: "Layout",
        section: "User_Interface",
        i18nLabel: "UI_Use_Real_Name",
      },
    ]);
  });

  test("a secret setting is private and has a random value", async () => {
    const res = await api(server, "settings/Accounts_RegistrationForm_SecretURL", {
      auth: server.admin,
    });
    const pub = await publicSettings({ _id: "Accounts_RegistrationForm_SecretURL" });

    expect(res.body.value).toMatch(/^[23456789A-Za-z]{17}$/);
    expect(pub.body.total).toBe(0);
  });
});

describe("query, fields and sort", () => {
  test("query filters with $regex, sort orders, and the public filter always holds", async () => {
    const res = await publicSettings({
      query: JSON.stringify({ _id: { $regex: "^Message_Allow" }, public: false }),
      sort: JSON.stringify({ _id: -1 }),
      count: "3",
    });

    expect(res.status).toBe(200);
    expect(res.body.settings.map((s: { _id: string }) => s._id)).toEqual([
      "Message_AllowStarring",
      "Message_AllowPinning",
      "Message_AllowEditing_BlockEditInMinutes",
    ]);
    expect(res.body).toMatchObject({ count: 3, offset: 0, total: 7 });
  });

  test("operators other than $or, $and and $regex are dropped", async () => {
    const res = await publicSettings({
      query: JSON.stringify({ $or: [{ _id: "Site_Name" }, { _id: { $ne: "x" } }] }),
    });

    expect(res.body.settings.map((s: { _id: string }) => s._id)).toEqual(["Site_Name"]);
  });

  test("fields with 0 takes a field away", async () => {
    const res = await publicSettings({
      _id: "Site_Name",
      fields: JSON.stringify({ enterprise: 0 }),
    });

    expect(res.body.settings).toEqual([{ _id: "Site_Name", value: "Parley" }]);
  });

  test.each([
    ["query", "{not json", "error-invalid-query", 'Invalid query parameter provided: "{not json"'],
    [
      "fields",
      '{"value":2}',
      "error-invalid-fields",
      'Invalid fields parameter provided: "{"value":2}"',
    ],
    [
      "fields",
      '{"value.length":1}',
      "error-invalid-fields",
      'Invalid fields parameter provided: "{"value.length":1}"',
    ],
    [
      "fields",
      '{"__proto__":1}',
      "error-invalid-fields",
      'Invalid fields parameter provided: "{"__proto__":1}"',
    ],
    ["sort", '{"_id":0}', "error-invalid-sort", 'Invalid sort parameter provided: "{"_id":0}"'],
  ])("a malformed %s is Rocket.Chat's 400", async (param, raw, errorType, reason) => {
    const res = await publicSettings({ [param]: raw });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: `${reason} [${errorType}]`,
      errorType,
      details: { helperMethod: "parseJsonQuery" },
    });
  });

  test("settings takes the same parameters for an administrator", async () => {
    const res = await api(server, "settings", {
      auth: server.admin,
      query: { query: JSON.stringify({ group: "Threads" }), fields: JSON.stringify({ type: 1 }) },
    });

    expect(res.body).toEqual({
      settings: [{ _id: "Threads_enabled", value: true, enterprise: false, type: "boolean" }],
      count: 1,
      offset: 0,
      total: 1,
      success: true,
    });
  });
});

describe("an existing workspace", () => {
  test("gets the fields a definition adds at start and keeps its values", async () => {
    const own = await startTestServer();
    const { db } = own.parley.services.deps;
    await db.settings.updateOne(
      { _id: "Unread_Count" },
      { $set: { value: "all_messages" }, $unset: { values: 1, i18nLabel: 1, section: 1 } },
    );
    await own.stop(true);

    const again = await startTestServer({ dataDir: own.dataDir });
    const stored = await again.parley.services.deps.db.settings.findOne({ _id: "Unread_Count" });
    await again.stop();

    expect(stored).toMatchObject({
      value: "all_messages",
      i18nLabel: "Unread_Count",
      values: expect.arrayContaining([{ key: "all_messages", i18nLabel: "All_messages" }]),
    });
  });
});

describe("public-settings/get and private-settings/get", () => {
  test("public-settings/get answers public settings with Rocket.Chat's fields, or what changed", async () => {
    const ddp = await clients.connect(server);
    const all = await ddp.call("public-settings/get");
    const since = new Date(Date.now() - 1);
    await api(server, "settings/Site_Name", { auth: server.admin, body: { value: "Synced" } });

    const changed = await ddp.call("public-settings/get", since);
    await api(server, "settings/Site_Name", { auth: server.admin, body: { value: "Parley" } });

    const list = all.result as { _id: string; [field: string]: unknown }[];
    expect(list.find((s) => s._id === "Site_Name")).toEqual({
      _id: "Site_Name",
      value: "Parley",
      enterprise: false,
      requiredOnWizard: false,
    });
    expect(list.map((s) => s._id)).not.toContain("Accounts_SearchFields");
    expect(changed.result).toEqual({
      update: [{ _id: "Site_Name", value: "Synced", enterprise: false, requiredOnWizard: false }],
      remove: [],
    });
  });

  test("private-settings/get answers whole settings to an administrator, none to others", async () => {
    const admin = await clients.connect(server);
    await admin.resume(server.admin.authToken);
    const user = await clients.connect(server, alice);

    const asAdmin = await admin.call("private-settings/get");
    const asUser = await user.call("private-settings/get");

    const search = (asAdmin.result as { _id: string }[]).find(
      (s) => s._id === "Accounts_SearchFields",
    );
    expect(search).toMatchObject({
      _id: "Accounts_SearchFields",
      type: "string",
      group: "Accounts",
      public: false,
      packageValue: "username, name, bio, nickname",
      _updatedAt: expect.any(Date),
    });
    expect(asUser.result).toEqual([]);
  });
});
