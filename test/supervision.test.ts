import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RoomEffects } from "../supervisors/rooms.ts";
import { RawDdp, startTestServer, type TestServer } from "./helpers.ts";

/** Messages with this text crash the room actor that executes them. */
const FAULT = "inject a fault into this room actor";

/** Room effects that fail like a bug would (not a client error) on the marked message. */
function faulty(real: RoomEffects): RoomEffects {
  return {
    load: real.load,
    execute: (state, command) => {
      if (command.kind === "send" && command.draft.msg === FAULT) {
        return Promise.reject(new TypeError("injected fault"));
      }
      return real.execute(state, command);
    },
  };
}

describe("room supervision", () => {
  let server: TestServer;
  let admin: RawDdp;
  let faultyRoom: string;
  let healthyRoom: string;

  beforeAll(async () => {
    server = await startTestServer({ roomEffects: faulty });
    admin = await RawDdp.connect(server.wsUrl);
    await admin.resume(server.admin.authToken);
    const a = await admin.call("createChannel", `faulty-${Date.now()}`, []);
    const b = await admin.call("createChannel", `healthy-${Date.now()}`, []);
    faultyRoom = (a.result as { rid: string }).rid;
    healthyRoom = (b.result as { rid: string }).rid;
  });

  afterAll(async () => {
    admin.close();
    await server.stop();
  });

  test("a crashing room actor is restarted and keeps its history", async () => {
    const before = await admin.call("sendMessage", { rid: faultyRoom, msg: "before the fault" });
    expect(before.error).toBeUndefined();

    const crash = await admin.call("sendMessage", { rid: faultyRoom, msg: FAULT });
    expect(crash.error).toMatchObject({ error: 500, errorType: "Meteor.Error" });

    const after = await admin.call("sendMessage", { rid: faultyRoom, msg: "after the fault" });
    expect(after.error).toBeUndefined();
    const history = await admin.call("loadHistory", faultyRoom, null, 50);
    const texts = (history.result as { messages: { msg: string }[] }).messages.map((m) => m.msg);
    expect(texts).toEqual(["after the fault", "before the fault"]);
  });

  test("another room keeps delivering while one room actor crashes repeatedly", async () => {
    const listener = await RawDdp.connect(server.wsUrl);
    await listener.resume(server.admin.authToken);
    expect((await listener.sub("stream-room-messages", healthyRoom, false)).msg).toBe("ready");

    const total = 40;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      sends.push(admin.call("sendMessage", { rid: healthyRoom, msg: `healthy ${i}` }));
      if (i % 10 === 0) sends.push(admin.call("sendMessage", { rid: faultyRoom, msg: FAULT }));
    }
    await Promise.all(sends);
    await listener.streamEvent(
      "stream-room-messages",
      healthyRoom,
      (args) => (args[0] as { msg: string }).msg === `healthy ${total - 1}`,
    );

    const delivered = listener.frames
      .filter(
        (f) => f.msg === "changed" && (f.fields as { eventName: string }).eventName === healthyRoom,
      )
      .map((f) => ((f.fields as { args: { msg: string }[] }).args[0] as { msg: string }).msg);
    expect(delivered).toEqual(Array.from({ length: total }, (_, i) => `healthy ${i}`));
    listener.close();
  });

  test("a room actor over its restart intensity is quarantined while other rooms serve", async () => {
    const results = [];
    for (let i = 0; i < 7; i++)
      results.push(await admin.call("sendMessage", { rid: faultyRoom, msg: FAULT }));
    const refused = await admin.call("sendMessage", { rid: faultyRoom, msg: "while quarantined" });
    expect(refused.error).toMatchObject({ error: 500 });

    const healthy = await admin.call("sendMessage", { rid: healthyRoom, msg: "still serving" });
    expect(healthy.error).toBeUndefined();
    expect((healthy.result as { msg: string }).msg).toBe("still serving");
  });
});

describe("room actor ordering", () => {
  test("gives messages sent in the same millisecond distinct, increasing times", async () => {
    const frozen = new Date("2026-01-01T00:00:00.000Z");
    const server = await startTestServer({ clock: { now: () => new Date(frozen) } });
    const ddp = await RawDdp.connect(server.wsUrl);
    await ddp.resume(server.admin.authToken);
    const rid = (
      (await ddp.call("createChannel", `same-ms-${Date.now()}`, [])).result as { rid: string }
    ).rid;

    const sent = await Promise.all(
      ["a", "b", "c"].map((msg) => ddp.call("sendMessage", { rid, msg })),
    );

    const times = sent.map((s) => (s.result as { ts: Date }).ts.getTime());
    expect(times).toEqual([frozen.getTime(), frozen.getTime() + 1, frozen.getTime() + 2]);
    ddp.close();
    await server.stop();
  });
});
