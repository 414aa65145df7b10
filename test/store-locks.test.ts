/**
 * Locks held in the store: one holder at a time per key, in one process and between
 * holders that share nothing but the store, and a lease left by a holder that died is
 * taken over once it lapses.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomIds } from "../core/ids.ts";
import { type Collections, openCollections } from "../services/collections.ts";
import { withStoreLock } from "../services/store-locks.ts";
import { openEmbeddedStore } from "../store/embedded.ts";

describe("store locks", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-locks-"));
  const store = openEmbeddedStore({ dataDir });
  let db: Collections;
  const deps = () => ({ db, ids: randomIds });

  afterAll(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("tasks under one key never overlap, and each one runs", async () => {
    db = await openCollections(store);
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withStoreLock(deps(), "one-key", async () => {
          most = Math.max(most, ++inside);
          await Promise.resolve();
          order.push(i);
          inside--;
        }),
      ),
    );

    expect(most).toBe(1);
    expect(order.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await db.locks.countDocuments({})).toBe(0);
  });

  test("holders that share only the store exclude each other", async () => {
    // Two sets of collections on one store stand for two processes: no queue in memory
    // is shared between them, only the lease documents.
    const other = { db: await openCollections(store), ids: randomIds };
    const log: string[] = [];
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = withStoreLock(deps(), "shared", async () => {
      log.push("first in");
      entered();
      await new Promise<void>((resolve) => (release = resolve));
      log.push("first out");
    });
    await inside;
    const second = withStoreLock(other, "shared", async () => {
      log.push("second in");
    });
    // Give the second holder time to try the lease a few times before the first lets go.
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await Promise.all([first, second]);

    expect(log).toEqual(["first in", "first out", "second in"]);
  });

  test("a lease held elsewhere is waited for, and taken once released", async () => {
    await db.locks.insertOne({
      _id: "held",
      holder: "elsewhere",
      expiresAt: new Date(Date.now() + 60_000),
    });
    let ran = false;
    const waiting = withStoreLock(deps(), "held", async () => {
      ran = true;
    });
    // The waiter tries again with growing pauses; release the lease after its first tries.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ran).toBe(false);
    await db.locks.deleteOne({ _id: "held" });
    await waiting;

    expect(ran).toBe(true);
  });

  test("a lease whose holder died is taken over once it lapses", async () => {
    await db.locks.insertOne({
      _id: "orphan",
      holder: "dead",
      expiresAt: new Date(Date.now() - 1),
    });

    const result = await withStoreLock(deps(), "orphan", async () => "ran");

    expect(result).toBe("ran");
    expect(await db.locks.findOne({ _id: "orphan" })).toBeNull();
  });

  test("a failing task releases its lease", async () => {
    const failed = await withStoreLock(deps(), "fails", async () => {
      throw new Error("boom");
    }).catch((e: unknown) => e);

    expect((failed as Error).message).toBe("boom");
    expect(await withStoreLock(deps(), "fails", async () => "again")).toBe("again");
  });
});
