/**
 * Locks that hold across every process sharing the store, for the few checks that no
 * unique index can make (a room name free regardless of case, one discussion per message):
 * a lease document per key in `parley_locks`. Within one process the holders of a key
 * queue in memory, so only processes contend for the lease; a process that wants a held
 * lease tries again after a short, growing pause. A lease left by a process that died
 * expires after LEASE_MS and is then taken over.
 */
import { ServerFault } from "../core/errors.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Deps } from "./context.ts";

/** How long a lease lasts: far longer than any task run under one. */
const LEASE_MS = 30_000;
/** How long a task waits for a lease before it fails. */
const WAIT_MS = 10_000;
/** The longest pause between two tries of a held lease. */
const MAX_PAUSE_MS = 50;

/** The tail of each key's queue in this process, per store. */
const queues = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Runs `task` while this caller alone, among every process sharing the store, holds
 * `key`; resolves to what `task` resolves to. Throws ServerFault `lock-timeout` when the
 * lease stays held for WAIT_MS. `task` must not take the same key: it would wait for itself.
 */
export async function withStoreLock<T>(
  deps: Pick<Deps, "db" | "ids">,
  key: string,
  task: () => Promise<T>,
): Promise<T> {
  let tails = queues.get(deps.db);
  if (!tails) queues.set(deps.db, (tails = new Map()));
  const mine = (tails.get(key) ?? Promise.resolve()).then(() => underLease(deps, key, task));
  const settled = mine.catch(() => undefined);
  tails.set(key, settled);
  try {
    return await mine;
  } finally {
    if (tails.get(key) === settled) tails.delete(key);
  }
}

async function underLease<T>(
  deps: Pick<Deps, "db" | "ids">,
  key: string,
  task: () => Promise<T>,
): Promise<T> {
  const { locks } = deps.db;
  const holder = deps.ids.id();
  // Leases run on the wall clock, whatever clock the services are given.
  const giveUp = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    const expiresAt = new Date(Date.now() + LEASE_MS);
    try {
      await locks.insertOne({ _id: key, holder, expiresAt });
      break;
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
    }
    const expired = { _id: key, expiresAt: { $lt: new Date() } };
    if (await locks.findOneAndUpdate(expired, { $set: { holder, expiresAt } })) break;
    if (Date.now() > giveUp) {
      throw new ServerFault("lock-timeout", `Lock ${key} stayed held for ${WAIT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_PAUSE_MS, 2 ** attempt)));
  }
  try {
    return await task();
  } finally {
    await locks.deleteOne({ _id: key, holder });
  }
}
