import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, createUser, RawDdp, startTestServer, type TestServer } from "./helpers.ts";

describe("a room's join code", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.stop();
  });

  test("never reaches members on rooms-changed, when joining or when a message arrives", async () => {
    const member = await createUser(server);
    const name = `coded-${Date.now()}`;
    const created = await api(server, "channels.create", { auth: server.admin, body: { name } });
    const roomId: string = created.body.channel._id;
    await api(server, "channels.setJoinCode", {
      auth: server.admin,
      body: { roomId, joinCode: "s3cret" },
    });
    const ddp = await RawDdp.connect(server.wsUrl);
    await ddp.resume(member.credentials.authToken);
    const eventName = `${member.user._id}/rooms-changed`;
    await ddp.sub("stream-notify-user", eventName, false);

    await api(server, "channels.join", {
      auth: member.credentials,
      body: { roomId, joinCode: "s3cret" },
    });
    await api(server, "chat.sendMessage", {
      auth: server.admin,
      body: { message: { rid: roomId, msg: "hi" } },
    });
    await ddp.streamEvent("stream-notify-user", eventName, (args) => args[0] === "updated");

    const rooms = ddp.frames
      .filter(
        (f) => f.msg === "changed" && (f.fields as { eventName: string }).eventName === eventName,
      )
      .map((f) => (f.fields as { args: [string, Record<string, unknown>] }).args[1]);
    expect(rooms.map((r) => r._id)).toContain(roomId);
    expect(rooms.filter((r) => "joinCode" in r)).toEqual([]);
    ddp.close();
  });
});
