/**
 * The bus joins the Parley processes of one deployment (and keeps them apart from other
 * deployments on the same NATS server). Each process publishes what the
 * others must learn (stream events for their connections, and which cached state went
 * stale) and may serve requests that exactly one process answers (the shared embedded
 * store). A single process runs without one.
 */
import type { SessionSignal } from "../core/hub.ts";

/** What one process tells every other process. */
export type BusEvent =
  /** A stream event for the connections listening to it. */
  | {
      readonly kind: "emit";
      readonly stream: string;
      readonly eventName: string;
      readonly args: readonly unknown[];
    }
  /** A signal for the connections of user `uid`. */
  | { readonly kind: "signal"; readonly uid: string; readonly signal: SessionSignal }
  /**
   * A process became the owner of the shared embedded store: requests sent to the
   * previous one will not be answered.
   */
  | { readonly kind: "store-owner-changed" }
  /** Settings changed in the store: read them again. */
  | { readonly kind: "settings-changed" }
  /** The permission table changed in the store: read it again. */
  | { readonly kind: "permissions-changed" }
  /** Room `rid` changed: an actor holding it reads it again (and its members when `members`). */
  | { readonly kind: "room-changed"; readonly rid: string; readonly members: boolean };

/**
 * How long a change published with confirmation waits for the other processes: longer
 * than a live process takes to apply it, short enough that a process that stopped
 * answering delays the change's caller only briefly.
 */
export const CONFIRM_MS = 2000;

/**
 * Nobody served the subject when the request was sent (for the store: its owner is gone),
 * so the request was not handled and may be sent again.
 */
export class NoResponderError extends Error {
  override readonly name = "NoResponderError";
}

/**
 * A request reached its server but no answer came: the server went away while handling it
 * (a later request found nobody serving the subject) or did not answer in time. Whether it
 * was handled is unknown.
 */
export class UnansweredError extends Error {
  override readonly name = "UnansweredError";
}

/** A failure the server of a request answered with (its name and own fields), as the
 * requester receives it. */
export class RemoteError extends Error {
  constructor(
    readonly remoteName: string,
    message: string,
    readonly fields: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = remoteName;
  }
}

export interface Bus {
  /** Sends `event` to every other process; a process never receives its own events. */
  publish(event: BusEvent): void;
  /**
   * Sends `event` like `publish` and resolves once every other process of the deployment
   * has applied it (the promise its handler returned settled), so that what this process
   * answers next holds everywhere. A process that does not confirm within `timeoutMs`
   * (one that is stopping, paused or cut off) is waited for no longer; it reads its state
   * again when it comes back to the bus.
   */
  publishConfirmed(event: BusEvent, timeoutMs: number): Promise<void>;
  /**
   * Calls `handler` with every event another process publishes, in publishing order. For
   * an event published with `publishConfirmed`, its publisher learns once what `handler`
   * returned (a promise when applying the event takes time) has settled.
   */
  subscribe(handler: (event: BusEvent) => unknown): void;
  /**
   * Answers requests on `subject` with `handler`, whose result (or thrown error) is sent
   * back. Resolves, once the server is registered with the bus, with the function that
   * stops serving: it resolves once every request sent before it has reached `handler`.
   */
  serve(
    subject: string,
    handler: (request: unknown) => Promise<unknown>,
  ): Promise<() => Promise<void>>;
  /**
   * Sends `request` to the server of `subject` and resolves with its answer. Rejects with
   * NoResponderError when nothing serves the subject, UnansweredError when the server went
   * away before answering or no answer came within `timeoutMs`, and RemoteError when the
   * server's handler threw.
   */
  request(subject: string, request: unknown, timeoutMs: number): Promise<unknown>;
  /**
   * Gives the requests to `subject` waiting now `graceMs` more to be answered, then
   * rejects those still waiting with UnansweredError.
   */
  abandon(subject: string, graceMs: number): void;
  /**
   * Calls `handler` after each reconnection to the bus: events published meanwhile were
   * lost, so what depends on them must be read again. (Requests waiting at that moment
   * get a few seconds more to be answered, then are rejected with UnansweredError.)
   */
  onReconnect(handler: () => void): void;
  /** Drains what was published and disconnects. */
  close(): Promise<void>;
}

/** Another running process of the deployment already answers to this process's name. */
export class InstanceNameTaken extends Error {
  override readonly name = "InstanceNameTaken";
}

/**
 * Makes `name` this process's name on `bus`: throws InstanceNameTaken when a running
 * process of the deployment already answers to it (or is there but too busy to answer),
 * else answers to it from now on, so that a process started later under the same name is
 * refused. Two processes started at the same moment under one name may both get it.
 */
export async function claimInstanceName(bus: Bus, name: string): Promise<void> {
  const subject = `instance.${[...new TextEncoder().encode(name)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const answered = await bus.request(subject, null, CLAIM_MS).then(
    () => true,
    (error: unknown) => !(error instanceof NoResponderError),
  );
  if (answered) throw new InstanceNameTaken(`another running process is named "${name}"`);
  await bus.serve(subject, async () => name);
}

/** How long a process that holds a name may take to say so. */
const CLAIM_MS = 2000;
