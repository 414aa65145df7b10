/**
 * Avatars, personal access tokens, the password policy and user autocomplete over real
 * HTTP: an uploaded or data: URL avatar is served back with caching headers, a generated
 * one otherwise, remote URLs are refused unfetched, and a personal access token works as
 * `X-Auth-Token` until it is removed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { MAX_AVATAR_BODY_BYTES } from "../server.ts";
import { Clients, closed, seedUser } from "./ddp-helpers.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";

let server: TestServer;
const clients = new Clients();

/** A 1×1 transparent PNG. */
const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const PNG = Uint8Array.from(atob(PNG_BASE64), (c) => c.charCodeAt(0));

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** Posts a multipart `users.setAvatar` with `image` and extra form fields. */
async function upload(
  auth: { userId: string; authToken: string },
  image: Blob,
  fields: Record<string, string> = {},
  fileName = "avatar.png",
) {
  const form = new FormData();
  form.append("image", image, fileName);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const res = await fetch(`${server.url}/api/v1/users.setAvatar`, {
    method: "POST",
    headers: { "X-User-Id": auth.userId, "X-Auth-Token": auth.authToken },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

describe("avatars", () => {
  test("an uploaded image is served at /avatar/:username with caching headers", async () => {
    const user = await seedUser(server, "pic");

    const res = await upload(user.credentials, new Blob([PNG], { type: "image/png" }));
    const served = await fetch(`${server.url}/avatar/${user.username}`);
    const bytes = new Uint8Array(await served.arrayBuffer());
    const again = await fetch(`${server.url}/avatar/${user.username}`, {
      headers: { "If-Modified-Since": served.headers.get("last-modified") as string },
    });

    expect(res).toEqual({ status: 200, body: { success: true } });
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(bytes).toEqual(PNG);
    expect(again.status).toBe(304);
  });

  test("a camera-sized photo of several megabytes is taken; one past the avatar limit is not", async () => {
    const user = await seedUser(server, "photo");
    const noise = crypto.getRandomValues(new Uint8Array(1600 * 1200 * 3));
    const photo = await sharp(noise, { raw: { width: 1600, height: 1200, channels: 3 } })
      .jpeg({ quality: 100 })
      .toBuffer();

    const taken = await upload(
      user.credentials,
      new Blob([photo], { type: "image/jpeg" }),
      {},
      "photo.jpg",
    );
    const tooLarge = await fetch(`${server.url}/api/v1/users.setAvatar`, {
      method: "POST",
      headers: {
        "X-User-Id": user.credentials.userId,
        "X-Auth-Token": user.credentials.authToken,
        "Content-Type": "multipart/form-data; boundary=x",
      },
      body: new Uint8Array(MAX_AVATAR_BODY_BYTES + 1),
    });

    expect(photo.byteLength).toBeGreaterThan(2 * 1024 * 1024);
    expect(taken).toEqual({ status: 200, body: { success: true } });
    expect(tooLarge.status).toBe(413);
  });

  test("/avatar/:username finds the user regardless of case, as Rocket.Chat does", async () => {
    const user = await seedUser(server, "case");
    await upload(user.credentials, new Blob([PNG], { type: "image/png" }));

    const served = await fetch(`${server.url}/avatar/${user.username.toUpperCase()}`);

    expect(served.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG);
  });

  test("a data: URL sets the avatar and a new avatarETag", async () => {
    const user = await seedUser(server, "data");

    const res = await api(server, "users.setAvatar", {
      auth: user.credentials,
      body: { avatarUrl: `data:image/png;base64,${PNG_BASE64}` },
    });
    const info = await api(server, "users.info", {
      auth: user.credentials,
      query: { userId: user._id },
    });
    const served = await fetch(`${server.url}/avatar/${user.username}`);

    expect(res.body).toEqual({ success: true });
    expect(typeof info.body.user.avatarETag).toBe("string");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG);
  });

  test("a remote avatar URL is refused without being fetched", async () => {
    const user = await seedUser(server, "remote");

    const res = await api(server, "users.setAvatar", {
      auth: user.credentials,
      body: { avatarUrl: "http://169.254.169.254/" },
    });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Invalid avatar URL: http://169.254.169.254/ [error-avatar-invalid-url]",
      errorType: "error-avatar-invalid-url",
      details: { function: "setUserAvatar", url: "http://169.254.169.254/" },
    });
  });

  test("without an uploaded avatar the generated SVG of the initial is served", async () => {
    const served = await fetch(`${server.url}/avatar/zed`);
    const svg = await served.text();

    expect(served.headers.get("content-type")).toBe("image/svg+xml");
    expect(served.headers.get("last-modified")).toBe("Thu, 01 Jan 2015 00:00:00 GMT");
    expect(svg).toContain('fill="#E26D0E"');
    expect(svg).toContain("\nZ\n");
  });

  test("the generated avatar is rendered as PNG or JPEG when asked for by format", async () => {
    const png = await fetch(`${server.url}/avatar/zed?format=png&size=64`);
    const pngBytes = new Uint8Array(await png.arrayBuffer());
    const jpg = await fetch(`${server.url}/avatar/@zed?format=jpg`);
    const jpgBytes = new Uint8Array(await jpg.arrayBuffer());
    const other = await fetch(`${server.url}/avatar/zed?format=gif`);

    expect(png.headers.get("content-type")).toBe("image/png");
    expect(png.headers.get("last-modified")).toBe("Thu, 01 Jan 2015 00:00:00 GMT");
    expect([...pngBytes.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    // The PNG header's width and height (big-endian, bytes 16 to 23): the size asked for.
    const header = new DataView(pngBytes.buffer, 16, 8);
    expect([header.getUint32(0), header.getUint32(4)]).toEqual([64, 64]);
    expect(jpg.headers.get("content-type")).toBe("image/jpg");
    expect([...jpgBytes.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect(other.headers.get("content-type")).toBe("image/svg+xml");
  });

  test("resetting the avatar brings the generated one back", async () => {
    const user = await seedUser(server, "reset");
    await upload(user.credentials, new Blob([PNG], { type: "image/png" }));

    const res = await api(server, "users.resetAvatar", {
      auth: user.credentials,
      body: { userId: user._id },
    });
    const served = await fetch(`${server.url}/avatar/${user.username}`);

    expect(res.body).toEqual({ success: true });
    expect(served.headers.get("content-type")).toBe("image/svg+xml");
  });

  test("someone else's avatar needs edit-other-user-avatar", async () => {
    const [user, other] = [await seedUser(server, "a"), await seedUser(server, "b")];

    const res = await upload(user.credentials, new Blob([PNG], { type: "image/png" }), {
      userId: other._id,
    });

    expect(res).toEqual({
      status: 400,
      body: {
        success: false,
        error: "Not allowed [error-not-allowed]",
        errorType: "error-not-allowed",
      },
    });
  });

  test("a file that is not an image is refused", async () => {
    const user = await seedUser(server, "txt");

    const page = new Blob(["<script>"], { type: "text/html" });
    const res = await upload(user.credentials, page, {}, "page.html");

    expect(res.body.errorType).toBe("error-avatar-invalid-content-type");
  });
});

describe("personal access tokens", () => {
  test("a generated token authenticates as X-Auth-Token until it is removed", async () => {
    const user = await seedUser(server, "pat");

    const made = await api(server, "users.generatePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "ci" },
    });
    const auth = { userId: user._id, authToken: made.body.token as string };
    const me = await api(server, "me", { auth });
    const listed = await api(server, "users.getPersonalAccessTokens", { auth: user.credentials });
    await api(server, "users.removePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "ci" },
    });
    const after = await api(server, "me", { auth });

    expect(me.body.username).toBe(user.username);
    expect(listed.body.tokens).toEqual([
      {
        name: "ci",
        createdAt: expect.any(String),
        lastTokenPart: auth.authToken.slice(-6),
        bypassTwoFactor: false,
      },
    ]);
    expect(after.status).toBe(401);
  });

  test("a name in use is refused, and regenerating replaces the token", async () => {
    const user = await seedUser(server, "regen");
    const first = await api(server, "users.generatePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "bot" },
    });

    const again = await api(server, "users.generatePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "bot" },
    });
    const regen = await api(server, "users.regeneratePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "bot" },
    });
    const oldAuth = { userId: user._id, authToken: first.body.token as string };
    const newAuth = { userId: user._id, authToken: regen.body.token as string };

    expect(again.body.errorType).toBe("error-token-already-exists");
    expect((await api(server, "me", { auth: oldAuth })).status).toBe(401);
    expect((await api(server, "me", { auth: newAuth })).status).toBe(200);
  });

  test("removing a token closes the DDP sessions that logged in with it", async () => {
    const user = await seedUser(server, "patddp");
    const made = await api(server, "users.generatePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "socket" },
    });
    const socket = await clients.connect(server, {
      ...user,
      credentials: { userId: user._id, authToken: made.body.token },
    });
    const closing = closed(socket.socket);

    await api(server, "users.removePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "socket" },
    });

    expect((await closing).reason).toBe("Logged out");
  });

  test("a missing name and a missing token are refused as in Rocket.Chat", async () => {
    const user = await seedUser(server, "patmiss");

    const noName = await api(server, "users.generatePersonalAccessToken", {
      auth: user.credentials,
      body: {},
    });
    const unknown = await api(server, "users.removePersonalAccessToken", {
      auth: user.credentials,
      body: { tokenName: "nope" },
    });

    expect(noName.body).toEqual({ success: false, error: "The 'tokenName' param is required" });
    expect(unknown.body.error).toBe("Token does not exist [error-token-does-not-exists]");
  });
});

describe("password policy and autocomplete", () => {
  test("pw.getPolicy follows the Accounts_Password_Policy settings as they change", async () => {
    const before = await api(server, "pw.getPolicy", { auth: server.admin });
    await api(server, "settings/Accounts_Password_Policy_Enabled", {
      auth: server.admin,
      body: { value: true },
    });
    const after = await api(server, "pw.getPolicy", { auth: server.admin });
    await api(server, "settings/Accounts_Password_Policy_Enabled", {
      auth: server.admin,
      body: { value: false },
    });

    expect(before.body).toEqual({ enabled: false, policy: [], success: true });
    expect(after.body).toEqual({
      enabled: true,
      policy: [
        ["get-password-policy-minLength", { minLength: 7 }],
        ["get-password-policy-forbidRepeatingCharacters"],
        [
          "get-password-policy-forbidRepeatingCharactersCount",
          { forbidRepeatingCharactersCount: 3 },
        ],
        ["get-password-policy-mustContainAtLeastOneLowercase"],
        ["get-password-policy-mustContainAtLeastOneUppercase"],
        ["get-password-policy-mustContainAtLeastOneNumber"],
        ["get-password-policy-mustContainAtLeastOneSpecialCharacter"],
      ],
      success: true,
    });
  });

  test("users.autocomplete finds active users by a part of their username", async () => {
    const user = await seedUser(server, "findme");

    const res = await api(server, "users.autocomplete", {
      auth: server.admin,
      query: { selector: JSON.stringify({ term: user.username.slice(0, 12) }) },
    });

    expect(res.body.items).toContainEqual({
      _id: user._id,
      name: user.username,
      username: user.username,
      status: "offline",
    });
  });
});
