/**
 * The bus on a real NATS server: events between connections, requests with answers
 * larger than NATS's max_payload, the errors a requester sees when the server is missing
 * or goes away, the wire form of query values, and the shared embedded store's takeover
 * when its owner closes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Bus,
  type BusEvent,
  NoResponderError,
  RemoteError,
  UnansweredError,
} from "../bus/bus.ts";
import { decodeWire, encodeWire } from "../bus/codec.ts";
import { connectNatsBus } from "../bus/nats.ts";
import { createLogger } from "../core/logger.ts";
import { openSharedStore } from "../store/shared.ts";
import { NATS_SKIP, type NatsProcess, spawnNats } from "./processes.ts";

const log = createLogger("silent");

describe("the wire form of values", () => {
  test("keeps dates, regular expressions, bytes, undefined fields and non-finite numbers", () => {
    const value = {
      ts: new Date(Date.UTC(2026, 11, 4, 12)),
      data: new Uint8Array([0, 1, 254, 255]),
      name: { $regex: /^ali.e$/i },
      missing: undefined,
      list: [undefined, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1.5],
      nested: { $gt: new Date(0), plain: "text", count: 3, none: null },
    };

    const back = decodeWire(encodeWire(value)) as typeof value;

    expect(back).toEqual(value);
    expect(back.ts).toBeInstanceOf(Date);
    expect(back.data).toBeInstanceOf(Uint8Array);
    expect(back.name.$regex).toBeInstanceOf(RegExp);
    expect(back.name.$regex.flags).toBe("i");
    expect(Object.keys(back)).toContain("missing");
    expect(Number.isNaN(back.list[1])).toBe(true);
    expect(decodeWire(encodeWire(undefined))).toBeUndefined();
  });

  test("leaves objects that only look tagged alone", () => {
    const value = { a: { "\u0000date": "not a number" }, b: { "\u0000other": 1 } };

    expect(decodeWire(encodeWire(value))).toEqual(value);
  });
});

describe.skipIf(NATS_SKIP !== "")(`the NATS bus${NATS_SKIP}`, () => {
  let nats: NatsProcess;
  const buses: Bus[] = [];
  // Each test is a deployment of its own, so that no test hears another's.
  let deployment = "";
  beforeEach(() => {
    deployment = crypto.randomUUID();
  });
  const bus = async (name: string) => {
    const connected = await connectNatsBus(nats.url, name, deployment, log);
    buses.push(connected);
    return connected;
  };

  beforeAll(async () => {
    nats = await spawnNats();
  });

  afterAll(async () => {
    for (const connected of buses) await connected.close().catch(() => {});
    await nats.stop();
  });

  test("credentials in the URL reach a server that asks for them", async () => {
    for (const [options, url] of [
      [["--user", "parley", "--pass", "s3cr:t"], "nats://parley:s3cr%3At@"],
      [["--auth", "t0ken"], "nats://t0ken@"],
    ] as const) {
      const guarded = await spawnNats(-1, [...options]);
      const address = guarded.url.slice("nats://".length);
      try {
        const refused = await connectNatsBus(guarded.url, "anonymous", deployment, log).catch(
          (e: unknown) => e,
        );
        expect(refused).toBeInstanceOf(Error);
        const [server, client] = [
          await connectNatsBus(`${url}${address}`, "server", deployment, log),
          await connectNatsBus(`${url}${address}`, "client", deployment, log),
        ];
        await server.serve("echo", async (request) => request);
        expect(await client.request("echo", { ok: true }, 5_000)).toEqual({ ok: true });
        await client.close();
        await server.close();
      } finally {
        await guarded.stop();
      }
    }
  });

  test("events reach every other process in order, never their publisher", async () => {
    const [one, two, three] = [await bus("one"), await bus("two"), await bus("three")];
    const seen: Record<string, BusEvent[]> = { one: [], two: [], three: [] };
    one.subscribe((event) => seen.one?.push(event));
    two.subscribe((event) => seen.two?.push(event));
    three.subscribe((event) => seen.three?.push(event));
    const done = new Promise<void>((resolve) =>
      three.subscribe((event) => event.kind === "room-changed" && event.rid === "r99" && resolve()),
    );
    // A request answered by `three` proves its subscriptions are registered with the server.
    await three.serve("ping.three", async () => "pong");
    await one.request("ping.three", null, 5_000);

    for (let i = 0; i < 100; i++)
      one.publish({ kind: "room-changed", rid: `r${i}`, members: false });
    await done;

    expect(seen.one).toEqual([]);
    expect(seen.three?.map((e) => (e as { rid: string }).rid)).toEqual(
      Array.from({ length: 100 }, (_, i) => `r${i}`),
    );
  });

  test("an event larger than the server's max_payload arrives whole, between small ones", async () => {
    const [one, two] = [await bus("big-one"), await bus("big-two")];
    const seen: BusEvent[] = [];
    const third = new Promise<void>((resolve) =>
      two.subscribe((event) => {
        seen.push(event);
        if (seen.length === 3) resolve();
      }),
    );
    await two.serve("ping.big-two", async () => "pong");
    await one.request("ping.big-two", null, 5_000);
    const args = [{ msg: "ü".repeat(800_000), ts: new Date(5) }];

    one.publish({ kind: "settings-changed" });
    one.publish({ kind: "emit", stream: "stream-room-messages", eventName: "GENERAL", args });
    one.publish({ kind: "permissions-changed" });
    await third;

    expect(seen).toEqual([
      { kind: "settings-changed" },
      { kind: "emit", stream: "stream-room-messages", eventName: "GENERAL", args },
      { kind: "permissions-changed" },
    ]);
  });

  /** Waits until `from` has heard every one of `others` announce itself. */
  const meet = async (from: Bus, others: Record<string, Bus>) => {
    for (const [name, other] of Object.entries(others)) {
      await other.serve(`ping.${name}`, async () => "pong");
      // The answer leaves `other` after its announcement, and NATS keeps that order.
      await from.request(`ping.${name}`, null, 5_000);
    }
  };

  test("a confirmed event resolves once every other process has applied it", async () => {
    const [one, two, three] = [await bus("c-one"), await bus("c-two"), await bus("c-three")];
    const applied: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let threeApplied!: () => void;
    const threeDone = new Promise<void>((resolve) => (threeApplied = resolve));
    one.subscribe(() => {});
    two.subscribe((event) =>
      event.kind === "settings-changed" ? held.then(() => applied.push("two")) : undefined,
    );
    three.subscribe((event) => {
      if (event.kind !== "settings-changed") return;
      applied.push("three");
      threeApplied();
    });
    await meet(one, { "c-two": two, "c-three": three });

    let confirmed = false;
    const publishing = one
      .publishConfirmed({ kind: "settings-changed" }, 60_000)
      .then(() => (confirmed = true));
    await threeDone;
    // Three's confirmation reaches one before this answer does.
    await one.request("ping.c-three", null, 5_000);
    expect(confirmed).toBe(false);

    release();
    await publishing;
    expect(applied).toEqual(["three", "two"]);
  });

  test("a confirmed event waits no longer for a process that leaves, nor past its timeout", async () => {
    const [one, leaving] = [await bus("l-one"), await bus("l-leaving")];
    let reached!: () => void;
    const heard = new Promise<void>((resolve) => (reached = resolve));
    one.subscribe(() => {});
    leaving.subscribe(() => {
      reached();
      return new Promise(() => {});
    });
    await meet(one, { "l-leaving": leaving });

    // Far beyond the test's own time limit: only the leaving process can end the wait.
    const publishing = one.publishConfirmed({ kind: "permissions-changed" }, 600_000);
    await heard;
    await leaving.close();
    await publishing;

    const silent = await bus("l-silent");
    silent.subscribe(() => new Promise(() => {}));
    await meet(one, { "l-silent": silent });
    const started = performance.now();
    await one.publishConfirmed({ kind: "permissions-changed" }, 300);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  test("a request and an answer larger than the server's max_payload arrive whole", async () => {
    const [server, client] = [await bus("big-server"), await bus("big-client")];
    const rows = Array.from({ length: 3_000 }, (_, i) => ({
      _id: `row-${i}`,
      ts: new Date(i),
      text: "é".repeat(300) + i,
    }));
    await server.serve("big", async (request) => ({ echo: request, rows }));

    const ask = { ask: "x".repeat(1_500_000) };
    const answer = (await client.request("big", ask, 10_000)) as {
      echo: unknown;
      rows: typeof rows;
    };

    expect(JSON.stringify(rows).length).toBeGreaterThan(1024 * 1024);
    expect(answer.echo).toEqual(ask);
    expect(answer.rows).toEqual(rows);
  });

  test("a failing handler is rethrown to the requester with its name and fields", async () => {
    const [server, client] = [await bus("fail-server"), await bus("fail-client")];
    await server.serve("fails", async () => {
      throw Object.assign(new RangeError("out of range"), { code: 42 });
    });

    const error = await client.request("fails", {}, 5_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteName).toBe("RangeError");
    expect((error as RemoteError).message).toBe("out of range");
    expect((error as RemoteError).fields).toEqual({ code: 42 });
  });

  test("nobody serving a subject is told at once, and requests its server took are abandoned", async () => {
    const client = await bus("lonely");
    const none = await client.request("nobody.home", {}, 10_000).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(NoResponderError);

    const server = await bus("vanishing");
    let took!: () => void;
    const taken = new Promise<void>((resolve) => (took = resolve));
    await server.serve("vanishing", () => {
      took();
      return new Promise(() => {});
    });
    const pending = client.request("vanishing", {}, 10_000).catch((e: unknown) => e);
    await taken;
    await server.close();
    const later = await client.request("vanishing", {}, 10_000).catch((e: unknown) => e);

    expect(later).toBeInstanceOf(NoResponderError);
    expect(await pending).toBeInstanceOf(UnansweredError);
  });

  test("of several processes finding the owner gone, one takes over and the others reach it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-takeover-"));
    const owner = await openSharedStore({ dataDir, bus: await bus("old-owner") });
    const others = [
      await openSharedStore({ dataDir, bus: await bus("left") }),
      await openSharedStore({ dataDir, bus: await bus("right") }),
    ];
    await owner.close();

    await Promise.all(
      others.flatMap((store, i) =>
        Array.from({ length: 10 }, (_, n) =>
          store
            .collection("counts")
            .updateOne(
              { _id: "total" },
              { $inc: { n: 1 }, $push: { by: `${i}` } },
              { upsert: true },
            ),
        ),
      ),
    );

    expect(others.map((store) => store.isOwner).sort()).toEqual([false, true]);
    const total = await others[0]?.collection("counts").findOne({ _id: "total" });
    expect(total?.n).toBe(20);
    for (const store of others) await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a request whose server dies before answering is abandoned without further requests", async () => {
    const [server, client] = [await bus("dies"), await bus("waits")];
    let took!: () => void;
    const taken = new Promise<void>((resolve) => (took = resolve));
    await server.serve("dies", () => {
      took();
      return new Promise(() => {});
    });
    const pending = client.request("dies", {}, 60_000).catch((e: unknown) => e);
    await taken;

    await server.close();

    expect(await pending).toBeInstanceOf(UnansweredError);
  });

  test("a process takes the shared store over when its owner closes", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "parley-takeover-"));
    const owner = await openSharedStore({ dataDir, bus: await bus("first-owner") });
    const other = await openSharedStore({ dataDir, bus: await bus("second") });
    await other.collection("notes").insertOne({ _id: "a", text: "through the owner" });
    await owner.close();

    const read = await other.collection("notes").findOne({ _id: "a" });
    await other.collection("notes").insertOne({ _id: "b", text: "as the new owner" });

    expect(read).toEqual({ _id: "a", text: "through the owner" });
    const third = await openSharedStore({ dataDir, bus: await bus("third") });
    expect(await third.collection("notes").countDocuments({})).toBe(2);
    await third.close();
    await other.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
