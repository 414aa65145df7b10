/**
 * The acceptance test with real client packages, unmodified: a bot on
 * `@rocket.chat/ddp-client` and a bot on `@rocket.chat/sdk` each log in, subscribe to a
 * room, receive a message another user posts over REST (`chat.postMessage`) and reply;
 * the reply reaches a third client over a raw WebSocket.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { DDPSDK } from "@rocket.chat/ddp-client";
import { Bot } from "@rocket.chat/sdk";
import { Clients, type SeededUser, seedUser, sha256 } from "./ddp-helpers.ts";
import { api, type RawDdp, startTestServer, type TestServer } from "./helpers.ts";

type Message = { _id: string; rid: string; msg: string; u: { _id: string } };

let server: TestServer;
const clients = new Clients();
const cleanups: (() => unknown)[] = [];
let poster: SeededUser;
let watcher: RawDdp;

beforeAll(async () => {
  server = await startTestServer();
  poster = await seedUser(server, "poster");
  watcher = await clients.connect(server, await seedUser(server, "watcher"));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  clients.closeAll();
  await server.stop();
});

/** A new private group of the watcher with `members`, which the watcher listens to. */
async function watchedRoom(members: SeededUser[]): Promise<string> {
  const name = `bots-${crypto.randomUUID().slice(0, 8)}`;
  const usernames = [poster.username, ...members.map((m) => m.username)];
  const created = await watcher.call("createPrivateGroup", name, usernames);
  const rid = (created.result as { rid: string }).rid;
  await watcher.sub("stream-room-messages", rid, false);
  return rid;
}

/** Posts `text` to `rid` as the poster over REST. */
async function postOverRest(rid: string, text: string): Promise<void> {
  const posted = await api(server, "chat.postMessage", {
    auth: poster.credentials,
    body: { roomId: rid, text },
  });
  expect(posted.status).toBe(200);
}

/** The message the watcher sees in `rid` with text `text`. */
async function seenByWatcher(rid: string, text: string): Promise<Message> {
  const withText = (args: unknown[]) => (args[0] as Message).msg === text;
  const [message] = await watcher.streamEvent("stream-room-messages", rid, withText);
  return message as Message;
}

test("a bot on @rocket.chat/ddp-client answers a message posted over REST", async () => {
  const botUser = await seedUser(server, "ddpbot");
  const rid = await watchedRoom([botUser]);
  const sdk = await DDPSDK.createAndConnect(server.url);
  cleanups.push(() => {
    sdk.timeoutControl.stop();
    sdk.connection.close();
  });

  await sdk.account.loginWithPassword(botUser.username, sha256(botUser.password));
  let heardBy: (message: Message) => void = () => {};
  const heard = new Promise<Message>((resolve) => (heardBy = resolve));
  const subscription = sdk.stream("room-messages", rid, (...args: unknown[]) => {
    const message = args[0] as Message;
    if (message.u._id === botUser._id) return;
    heardBy(message);
    void sdk.call("sendMessage", { rid, msg: `ddp-client heard: ${message.msg}` });
  });
  cleanups.push(() => subscription.stop());
  await subscription.ready();
  await postOverRest(rid, "hello, ddp-client bot");

  expect(await heard).toMatchObject({ rid, msg: "hello, ddp-client bot", u: { _id: poster._id } });
  const reply = await seenByWatcher(rid, "ddp-client heard: hello, ddp-client bot");
  expect(reply).toMatchObject({ rid, u: { _id: botUser._id } });
});

test("a bot on @rocket.chat/sdk answers a message posted over REST", async () => {
  const botUser = await seedUser(server, "sdkbot");
  const rid = await watchedRoom([botUser]);
  const bot = new Bot({ host: server.url, useSsl: false });
  cleanups.push(() => bot.disconnect());

  await bot.connect({});
  await bot.login({ username: botUser.username, password: botUser.password });
  await bot.subscribeRoom(rid);
  const heard = new Promise<Message>((resolve) => {
    // The SDK calls this with the message alone, whatever its declared callback type says.
    void bot.onMessage((received: unknown) => {
      const message = received as Message;
      if (message.rid !== rid || message.u._id === botUser._id) return;
      resolve(message);
      void bot.sendToRoomId(`sdk heard: ${message.msg}`, rid);
    });
  });
  await postOverRest(rid, "hello, sdk bot");

  expect(await heard).toMatchObject({ rid, msg: "hello, sdk bot", u: { _id: poster._id } });
  const reply = await seenByWatcher(rid, "sdk heard: hello, sdk bot");
  expect(reply).toMatchObject({ rid, u: { _id: botUser._id } });
});
