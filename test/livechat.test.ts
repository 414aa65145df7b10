/**
 * Omnichannel over REST and DDP: a visitor opens a conversation, it is routed to an
 * available agent, both write, the agent forwards it and closes it.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { api, RawDdp, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

let server: TestServer;
const agents: Agent[] = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(() => {
  for (const agent of agents.splice(0)) agent.close();
});

afterAll(async () => {
  await server.stop();
});

test("a visitor's conversation is routed to the available agent, who replies and closes it", async () => {
  const agent = await startAgent(server, "agent.one");
  agents.push(agent);
  const { token, visitor } = await newVisitor(server);
  expect(visitor).toMatchObject({ token, username: expect.stringMatching(/^guest-\d+$/) });

  const opened = await api(server, "livechat/room", { query: { token } });
  expect(opened.status).toBe(200);
  const room = opened.body.room;
  expect(opened.body.newRoom).toBe(true);
  expect(room).toMatchObject({
    t: "l",
    open: true,
    v: { token },
    servedBy: { _id: agent.user._id },
  });

  const ddp = await RawDdp.connect(server.wsUrl);
  const ready = await ddp.sub("stream-room-messages", room._id, {
    useCollection: false,
    args: [{ token, visitorToken: token }],
  });
  expect(ready.msg).toBe("ready");

  const sent = await api(server, "livechat/message", {
    body: { token, rid: room._id, msg: "hello there" },
  });
  expect(sent.body.message).toMatchObject({
    rid: room._id,
    msg: "hello there",
    u: { _id: visitor._id },
  });

  const reply = ddp.streamEvent(
    "stream-room-messages",
    room._id,
    (args) => (args[0] as { msg: string }).msg === "how can I help?",
  );
  await agent.sdk.call("sendMessage", { rid: room._id, msg: "how can I help?" });
  expect((await reply)[0]).toMatchObject({ u: { _id: agent.user._id } });

  const history = await api(server, `livechat/messages.history/${room._id}`, { query: { token } });
  expect(history.body.messages.map((m: { msg: string }) => m.msg)).toEqual([
    "how can I help?",
    "hello there",
  ]);

  const closing = ddp.streamEvent(
    "stream-room-messages",
    room._id,
    (args) => (args[0] as { t?: string }).t === "livechat-close",
  );
  const closed = await api(server, "livechat/room.closeByUser", {
    auth: agent.credentials,
    body: { rid: room._id, comment: "solved", tags: ["billing"] },
  });
  expect(closed.body).toEqual({ success: true });
  expect((await closing)[0]).toMatchObject({ msg: "solved" });
  const after = await api(server, "livechat/message", {
    body: { token, rid: room._id, msg: "again" },
  });
  expect(after.status).toBe(400);
  ddp.close();
});

test("an agent whose last connection closes is no longer given conversations", async () => {
  const leaving = await startAgent(server, "agent.leaving");
  const staying = await startAgent(server, "agent.staying");
  agents.push(staying);
  const watcher = await RawDdp.connect(server.wsUrl);
  await watcher.resume(server.admin.authToken);
  await watcher.sub("stream-notify-logged", "user-status", false);
  const offline = watcher.streamEvent("stream-notify-logged", "user-status", (args) => {
    const [uid, , code] = args[0] as [string, string, number];
    return uid === leaving.user._id && code === 0;
  });

  leaving.close();
  await offline;

  const rooms = [];
  for (let i = 0; i < 3; i += 1) {
    const { token } = await newVisitor(server);
    rooms.push((await api(server, "livechat/room", { query: { token } })).body.room);
  }
  expect(rooms.map((r) => r.servedBy?._id)).toEqual([
    staying.user._id,
    staying.user._id,
    staying.user._id,
  ]);
  watcher.close();
});
