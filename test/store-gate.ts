/**
 * A gate on the store as one part of a server sees it: the test picks operations by
 * collection, operation and arguments, and fails the next such one, holds it until
 * released, or learns when it is done. Pass `wrap` as the server's `presenceDb`.
 */
import type { Collections } from "../services/collections.ts";
import type { Held } from "./ddp-helpers.ts";

/** One store operation on its way. */
export interface StoreCall {
  readonly collection: string;
  readonly operation: string;
  readonly args: readonly unknown[];
}

type Rule = {
  readonly match: (call: StoreCall) => boolean;
  readonly act: (run: () => Promise<unknown>) => Promise<unknown>;
};

/** The error a write gets when the store's owner dies before answering it. */
export function lostWrite(): Error {
  return new Error("The store's owner did not answer; the write may have been applied");
}

export class StoreGate {
  private readonly rules: Rule[] = [];

  /** Fails the next matching operation with `lostWrite()`, once: `applied` runs it first. */
  failNext(match: (call: StoreCall) => boolean, options: { applied?: boolean } = {}) {
    let failed = () => {};
    const done = new Promise<void>((resolve) => {
      failed = resolve;
    });
    this.rules.push({
      match,
      act: async (run) => {
        if (options.applied) await run();
        failed();
        throw lostWrite();
      },
    });
    return done;
  }

  /** Holds the next matching operation before it runs, until released. */
  holdNext(match: (call: StoreCall) => boolean): Held {
    let reached = () => {};
    let release = () => {};
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.rules.push({
      match,
      act: async (run) => {
        reached();
        await released;
        return run();
      },
    });
    return { reached: reachedPromise, release };
  }

  /** Resolves once the next matching operation has run. */
  afterNext(match: (call: StoreCall) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.rules.push({
        match,
        act: async (run) => {
          const result = await run();
          resolve();
          return result;
        },
      });
    });
  }

  readonly wrap = (real: Collections): Collections =>
    new Proxy(real, {
      get: (target, collection: string) => {
        const inner = target[collection as keyof Collections] as unknown as Record<string, unknown>;
        return new Proxy(inner, {
          get: (col, operation: string) => {
            const method = col[operation];
            if (typeof method !== "function") return method;
            return (...args: unknown[]) => {
              const run = () => (method as (...a: unknown[]) => Promise<unknown>).apply(col, args);
              const index = this.rules.findIndex((r) => r.match({ collection, operation, args }));
              if (index < 0) return run();
              const [rule] = this.rules.splice(index, 1);
              return (rule as Rule).act(run);
            };
          },
        });
      },
    });
}

/** Whether `call` is a `$set` on user `uid` that stores a status (not the chosen one). */
export function statusWrite(uid: string) {
  return (call: StoreCall) =>
    call.collection === "users" &&
    call.operation === "updateOne" &&
    (call.args[0] as { _id?: unknown })._id === uid &&
    "status" in ((call.args[1] as { $set?: object }).$set ?? {});
}

/** Whether `call` changes user `uid`'s connection records with `operator` (`$push`, `$pull`). */
export function connectionWrite(uid: string, operator: "$push" | "$pull") {
  return (call: StoreCall) =>
    call.collection === "usersSessions" &&
    call.operation === "updateOne" &&
    (call.args[0] as { _id?: unknown })._id === uid &&
    operator in (call.args[1] as object);
}
