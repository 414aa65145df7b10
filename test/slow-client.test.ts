import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { RawDdp, startTestServer, type TestServer } from "./helpers.ts";

/** A client WebSocket text frame (clients must mask their frames). */
function maskedFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([header, mask, masked]);
}

/**
 * A DDP client over a raw TCP socket that completes the handshake, logs in, subscribes to a
 * room and then stops reading, as a client on a dead network would.
 */
async function stalledClient(port: number, token: string, rid: string): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
  });
  const until = async (text: string) => {
    while (!received.includes(text)) await new Promise((resolve) => socket.once("data", resolve));
  };
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(
    "GET /websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await until("server_id");
  socket.write(maskedFrame(JSON.stringify({ msg: "connect", version: "1", support: ["1"] })));
  const login = { msg: "method", method: "login", params: [{ resume: token }], id: "1" };
  socket.write(maskedFrame(JSON.stringify(login)));
  const sub = { msg: "sub", id: "s1", name: "stream-room-messages", params: [rid, false] };
  socket.write(maskedFrame(JSON.stringify(sub)));
  await until('"ready"');
  socket.pause();
  return socket;
}

describe("slow clients", () => {
  let server: TestServer;

  beforeAll(async () => {
    // Heartbeats far away, so that only the outbound limit can close the stalled socket.
    server = await startTestServer({ pingMs: 600_000, timeoutMs: 600_000 });
  });

  afterAll(async () => {
    await server.stop();
  });

  test("a client that stops reading is disconnected while others keep receiving", async () => {
    const sender = await RawDdp.connect(server.wsUrl);
    await sender.resume(server.admin.authToken);
    const created = await sender.call("createChannel", `slow-${Date.now()}`, []);
    const rid = (created.result as { rid: string }).rid;
    const reader = await RawDdp.connect(server.wsUrl);
    await reader.resume(server.admin.authToken);
    await reader.sub("stream-room-messages", rid, false);
    const stalled = await stalledClient(server.parley.port, server.admin.authToken, rid);
    let stalledClosed = false;
    stalled.on("close", () => {
      stalledClosed = true;
    });

    // Enough traffic to fill the kernel's socket buffers and then the server's 4 MB limit.
    const big = "x".repeat(4900);
    const total = 4000;
    // In windows well below the number of frames a session may queue (MAX_QUEUED_FRAMES).
    const window = 100;
    for (let start = 0; start < total; start += window) {
      const sends = [];
      for (let i = start; i < start + window; i++)
        sends.push(sender.call("sendMessage", { rid, msg: `${i} ${big}` }));
      await Promise.all(sends);
    }
    await reader.streamEvent("stream-room-messages", rid, (args) =>
      (args[0] as { msg: string }).msg.startsWith(`${total - 1} `),
    );
    stalled.resume();
    await new Promise<void>((resolve) =>
      stalledClosed ? resolve() : stalled.once("close", resolve),
    );

    const delivered = reader.frames.filter(
      (f) => f.msg === "changed" && (f.fields as { eventName: string }).eventName === rid,
    );
    expect(delivered).toHaveLength(total);
    expect(stalledClosed).toBe(true);
    const alive = await sender.call("sendMessage", { rid, msg: "still serving" });
    expect(alive.error).toBeUndefined();
    sender.close();
    reader.close();
  }, 60_000);
});
