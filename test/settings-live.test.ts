/**
 * The done-means test of settings: an administrator changes settings over REST and real
 * `@rocket.chat/ddp-client` connections see each change at once (public ones by anyone
 * on `stream-notify-all`, private ones only by an administrator on
 * `stream-notify-logged`), while the services that read them act on the new value without
 * a restart: `Message_MaxAllowedSize` limits what `sendMessage` accepts and
 * `Accounts_RegistrationForm` turns `users.register` off.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { DDPSDK } from "@rocket.chat/ddp-client";
import { TEST_ADMIN } from "../services/index.ts";
import { type SeededUser, seedUser, sha256 } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

type Change = [string, { _id: string; value: unknown; [field: string]: unknown }];
type Event = "public-settings-changed" | "private-settings-changed";

let server: TestServer;
let alice: SeededUser;
const sdks: DDPSDK[] = [];
const restores: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startTestServer();
  alice = await seedUser(server, "live");
});

afterEach(async () => {
  for (const restore of restores.splice(0).reverse()) await restore();
});

afterAll(async () => {
  for (const sdk of sdks) {
    sdk.timeoutControl.stop();
    sdk.connection.close();
  }
  await server.stop();
});

/** A ddp-client connection, logged in as `username` when given, closed after the file. */
async function connect(username?: string, password?: string): Promise<DDPSDK> {
  const sdk = await DDPSDK.createAndConnect(server.url);
  sdks.push(sdk);
  if (username && password) await sdk.account.loginWithPassword(username, sha256(password));
  return sdk;
}

/** Every change `sdk` hears on `stream`/`event`, in order, and a way to await the next ones. */
async function listen(sdk: DDPSDK, stream: "notify-all" | "notify-logged", event: Event) {
  const heard: Change[] = [];
  const waiting: (() => void)[] = [];
  const subscription = sdk.stream(stream, event, (...args: unknown[]) => {
    heard.push(args as Change);
    for (const wake of waiting.splice(0)) wake();
  });
  await subscription.ready();
  /** The first change heard for setting `id`. */
  const next = async (id: string): Promise<Change> => {
    for (;;) {
      const found = heard.find(([, setting]) => setting._id === id);
      if (found) return found;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  return { heard, next };
}

/** Sets `id` to `value` as the administrator over REST, restored after the test. */
async function setSetting(id: string, value: unknown) {
  const before = await api(server, `settings/${id}`, { auth: server.admin });
  restores.push(() =>
    api(server, `settings/${id}`, { auth: server.admin, body: { value: before.body.value } }),
  );
  const res = await api(server, `settings/${id}`, { auth: server.admin, body: { value } });
  expect(res.body).toEqual({ success: true });
}

describe("a setting changed over REST", () => {
  test("reaches a ddp-client that is not logged in, on public-settings-changed", async () => {
    const anonymous = await connect();
    const changes = await listen(anonymous, "notify-all", "public-settings-changed");

    await setSetting("Site_Name", "Renamed live");

    expect(await changes.next("Site_Name")).toEqual([
      "updated",
      { _id: "Site_Name", value: "Renamed live", enterprise: false, requiredOnWizard: false },
    ]);
  });

  test("a private one reaches an administrator's private-settings-changed and no public listener", async () => {
    const admin = await connect(TEST_ADMIN, TEST_ADMIN);
    const user = await connect(alice.username, alice.password);
    const privateChanges = await listen(admin, "notify-logged", "private-settings-changed");
    const publicChanges = await listen(user, "notify-all", "public-settings-changed");

    await setSetting("Accounts_SearchFields", "username");
    // A public change sent after the private one: once the user hears it, the private
    // one would have arrived before it.
    await setSetting("UI_Use_Real_Name", true);

    expect(await privateChanges.next("Accounts_SearchFields")).toEqual([
      "updated",
      {
        _id: "Accounts_SearchFields",
        value: "username",
        enterprise: false,
        requiredOnWizard: false,
      },
    ]);
    await publicChanges.next("UI_Use_Real_Name");
    expect(publicChanges.heard.map(([, setting]) => setting._id)).toEqual(["UI_Use_Real_Name"]);
  });

  test("a user who may not see private settings cannot listen to their changes", async () => {
    const user = await connect(alice.username, alice.password);

    const refused = listen(user, "notify-logged", "private-settings-changed");

    await expect(refused).rejects.toMatchObject({ error: "not-allowed" });
  });
});

describe("the services that read a setting act on its new value at once", () => {
  test("Message_MaxAllowedSize decides what sendMessage accepts", async () => {
    const sdk = await connect(alice.username, alice.password);
    const room = await api(server, "channels.create", {
      auth: alice.credentials,
      body: { name: `live-${crypto.randomUUID().slice(0, 8)}` },
    });
    const rid = room.body.channel._id;
    const changes = await listen(sdk, "notify-all", "public-settings-changed");
    const send = (msg: string) => sdk.call("sendMessage", { rid, msg });
    await send("twelve chars");

    await setSetting("Message_MaxAllowedSize", 10);
    await changes.next("Message_MaxAllowedSize");

    await expect(send("twelve chars")).rejects.toMatchObject({
      error: "error-message-size-exceeded",
    });
    expect(await send("ten chars!")).toMatchObject({ rid, msg: "ten chars!" });
  });

  test("Accounts_RegistrationForm Disabled turns users.register off, Public back on", async () => {
    const anonymous = await connect();
    const changes = await listen(anonymous, "notify-all", "public-settings-changed");
    const register = (username: string) =>
      api(server, "users.register", {
        body: { username, email: `${username}@example.com`, pass: "Pass-w0rd!x", name: username },
      });

    await setSetting("Accounts_RegistrationForm", "Disabled");
    expect(await changes.next("Accounts_RegistrationForm")).toEqual([
      "updated",
      {
        _id: "Accounts_RegistrationForm",
        value: "Disabled",
        enterprise: false,
        requiredOnWizard: false,
      },
    ]);
    const refused = await register(`off-${crypto.randomUUID().slice(0, 6)}`);
    await api(server, "settings/Accounts_RegistrationForm", {
      auth: server.admin,
      body: { value: "Public" },
    });
    const accepted = await register(`on-${crypto.randomUUID().slice(0, 6)}`);

    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      success: false,
      error: "User registration is disabled [error-user-registration-disabled]",
      errorType: "error-user-registration-disabled",
      details: { method: "registerUser" },
    });
    expect(accepted.status).toBe(200);
  });
});
