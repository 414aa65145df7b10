/**
 * The connection records presence keeps per user, on the real embedded store: a user's
 * first connection makes the record, later ones are added with a single write, and a
 * connection recorded again (its session restarted) keeps one entry.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../core/clock.ts";
import { LocalHub } from "../core/hub.ts";
import { createLogger } from "../core/logger.ts";
import { openCollections } from "../services/collections.ts";
import { runPresenceCommand } from "../services/presence.ts";
import { openEmbeddedStore } from "../store/embedded.ts";

const dataDir = mkdtempSync(join(tmpdir(), "parley-presence-records-"));
const store = openEmbeddedStore({ dataDir });

afterAll(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test("each connection of a user is recorded once, however often it is reported", async () => {
  const db = await openCollections(store);
  const deps = {
    db,
    clock: systemClock,
    hub: new LocalHub(
      () => {},
      () => {},
    ),
    log: createLogger("silent"),
    instanceId: "records-test",
  };
  const connect = (connId: string) => runPresenceCommand(deps, "u1", { kind: "connect", connId });

  expect(await connect("first")).toEqual(["first"]);
  expect(await connect("second")).toEqual(["first", "second"]);
  // A session that restarts reports its connection again.
  expect(await connect("first")).toEqual(["second", "first"]);

  const record = await db.usersSessions.findOne({ _id: "u1" });
  expect(record?.connections.map((c) => c.id)).toEqual(["second", "first"]);
  expect(record?.connections.every((c) => c.instanceId === "records-test")).toBe(true);
});
