/**
 * The raw reference for the WebSocket and REST scenarios: a bare Bun.serve that speaks
 * just enough DDP for the load generators (connect, login by any token, subscriptions as
 * topics, the calls the scenarios make, ping) and relays through Bun's native pub/sub,
 * checking, storing and computing nothing; plus bare HTTP handlers answering the REST
 * scenario's routes from memory. What Parley does beyond this is what it costs.
 *
 * Listens on 127.0.0.1:$PORT (0 picks one) and prints ` port N ` like main.ts.
 */
import type { ServerWebSocket } from "bun";

interface Conn {
  uid: string;
}

const messages: {
  _id: string;
  rid: string;
  msg: string;
  ts: string;
  u: { _id: string; username: string };
}[] = [];
for (let i = 0; i < 10_000; i++) {
  messages.push({
    _id: `m${i}`.padEnd(17, "x"),
    rid: "raw-room",
    msg: `history message ${i}`,
    ts: new Date(1_700_000_000_000 + i).toISOString(),
    u: { _id: "u0", username: "bench.u0" },
  });
}

function changed(collection: string, eventName: string, args: unknown[]): string {
  return JSON.stringify({ msg: "changed", collection, id: "id", fields: { eventName, args } });
}

function topicsOf(name: string, params: unknown[], uid: string): string[] {
  const [first, second] = params as [unknown, { added?: string[] } | undefined];
  if (name === "stream-user-presence") {
    return first === "" ? (second?.added ?? []).map((u) => `p:${u}`) : [`p:${String(first)}`];
  }
  if (name === "stream-notify-logged") return [`l:${String(first)}`];
  if (name === "stream-notify-user") return [`u:${String(first).startsWith(uid) ? first : "-"}`];
  return [`${name}:${String(first)}`];
}

function onMethod(
  ws: ServerWebSocket<Conn>,
  id: string,
  method: string,
  params: unknown[],
): unknown {
  if (method === "login") {
    ws.data.uid = String((params[0] as { resume?: string }).resume);
    return { id: ws.data.uid, token: "t", tokenExpires: { $date: 0 } };
  }
  if (method === "sendMessage") {
    const { rid, msg } = params[0] as { rid: string; msg: string };
    const message = { _id: id, rid, msg, ts: { $date: Date.now() }, u: { _id: ws.data.uid } };
    server.publish(`stream-room-messages:${rid}`, changed("stream-room-messages", rid, [message]));
    return message;
  }
  if (method === "setUserStatus") {
    const uid = ws.data.uid;
    server.publish(`p:${uid}`, changed("stream-user-presence", uid, [[uid, 1, params[1]]]));
    return null;
  }
  if (method === "stream-notify-room") {
    const [eventName, ...args] = params as [string, ...unknown[]];
    server.publish(
      `stream-notify-room:${eventName}`,
      changed("stream-notify-room", eventName, args),
    );
    return null;
  }
  return null;
}

const server = Bun.serve<Conn, never>({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  async fetch(req, srv) {
    const url = new URL(req.url);
    if (url.pathname === "/websocket") {
      return srv.upgrade(req, { data: { uid: "" } })
        ? undefined
        : new Response("no", { status: 400 });
    }
    const json = (body: unknown) =>
      new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
    switch (url.pathname) {
      case "/api/info":
        return json({ version: "7.10.0", success: true });
      case "/api/v1/me":
        return json({
          _id: req.headers.get("x-user-id"),
          username: "bench.u0",
          status: "online",
          success: true,
        });
      case "/api/v1/channels.history": {
        const count = Number(url.searchParams.get("count") ?? 20);
        return json({ messages: messages.slice(-count).reverse(), success: true });
      }
      case "/api/v1/chat.sendMessage": {
        const { message } = (await req.json()) as { message: { rid: string; msg: string } };
        const stored = {
          ...message,
          _id: crypto.randomUUID().slice(0, 17),
          ts: new Date().toISOString(),
          u: { _id: "u0", username: "bench.u0" },
        };
        return json({ message: stored, success: true });
      }
    }
    return new Response("not found", { status: 404 });
  },
  websocket: {
    message(ws, data) {
      const frame = JSON.parse(String(data)) as {
        msg: string;
        id?: string;
        method?: string;
        name?: string;
        params?: unknown[];
      };
      switch (frame.msg) {
        case "connect":
          ws.send('{"msg":"connected","session":"raw"}');
          return;
        case "ping":
          ws.send('{"msg":"pong"}');
          return;
        case "method": {
          const result = onMethod(ws, String(frame.id), String(frame.method), frame.params ?? []);
          ws.send(JSON.stringify({ msg: "result", id: frame.id, result }));
          return;
        }
        case "sub":
          for (const topic of topicsOf(String(frame.name), frame.params ?? [], ws.data.uid))
            ws.subscribe(topic);
          ws.send(JSON.stringify({ msg: "ready", subs: [frame.id] }));
          return;
      }
    },
  },
});

console.log(`raw relay listening on 127.0.0.1 port ${server.port}`);
process.on("SIGTERM", () => process.exit(0));
