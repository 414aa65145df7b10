/**
 * The `md` field of messages: the token tree of their text from Rocket.Chat's
 * @rocket.chat/message-parser, which Rocket.Chat's clients render instead of `msg`.
 *
 * The parser runs in a worker thread (markdown-worker.ts), one text at a time, each with
 * a time budget. Its running time grows roughly with the square of the length of some
 * inputs (5,000 `[` take about a second), so parsing on the server's own thread would let
 * any member stall every room and socket of the process with a few crafted messages. A
 * text that overruns its budget costs at most the budget: the worker is terminated and
 * replaced, and the message is stored without `md`, as Rocket.Chat stores one whose text
 * its parser rejects. Clients then render `msg`.
 */
import type { Logger } from "../core/logger.ts";

/** Longest text parsed; longer ones get no `md` (Rocket.Chat's MESSAGE_MAX_PARSE_LENGTH default). */
export const MARKDOWN_MAX_CHARS = 30_000;

/**
 * Time one text may take in the worker. A 5,000-character message dense with markdown
 * parses in about 12 ms; the budget leaves room for a slow or busy machine.
 */
export const MARKDOWN_BUDGET_MS = 250;

/** What the worker sends once, when it has loaded and can take texts. */
export const WORKER_READY = "ready";

/** A token tree, or undefined for a text that is not parsed. */
export type Markdown = readonly unknown[] | undefined;

interface Job {
  readonly text: string;
  readonly log: Logger | undefined;
  readonly resolve: (md: Markdown) => void;
}

/** Parses message texts in a worker thread, in arrival order, each within a time budget. */
export class MarkdownParser {
  private worker: Worker | undefined;
  /** The worker once it has said it is ready. */
  private ready: Worker | undefined;
  private readonly waiting: Job[] = [];
  private running: { readonly job: Job; readonly timer: ReturnType<typeof setTimeout> } | undefined;

  /** `budgetMs`: how long one text may take before it is given up (MARKDOWN_BUDGET_MS). */
  constructor(private readonly budgetMs = MARKDOWN_BUDGET_MS) {}

  /**
   * The token tree of `text`; undefined for an empty text, one longer than
   * MARKDOWN_MAX_CHARS, one the parser rejects, or one that overruns the budget (logged
   * at warn level on `log`). Never rejects.
   */
  parse(text: string, log?: Logger): Promise<Markdown> {
    if (text === "" || text.length > MARKDOWN_MAX_CHARS) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiting.push({ text, log, resolve });
      this.startNext();
    });
  }

  /** Stops the worker; texts still waiting resolve to undefined. */
  close(): void {
    const waiting = this.waiting.splice(0);
    this.worker?.terminate();
    this.worker = undefined;
    this.finish(undefined);
    for (const job of waiting) job.resolve(undefined);
  }

  private startNext(): void {
    if (this.running) return;
    if (this.waiting.length === 0) {
      if (this.worker) holdProcess(this.worker, false);
      return;
    }
    const worker = this.ensureWorker();
    holdProcess(worker, true);
    if (worker !== this.ready) return;
    const job = this.waiting.shift() as Job;
    const timer = setTimeout(() => this.overrun(), this.budgetMs);
    // The held worker keeps the process alive while it parses; the budget need not.
    timer.unref?.();
    this.running = { job, timer };
    worker.postMessage(job.text);
  }

  /** The worker, started if need be; texts go to it once it says it is ready. */
  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("./markdown-worker.ts", import.meta.url).href, {
      smol: true,
    });
    worker.addEventListener("message", (event: MessageEvent) => {
      if (worker !== this.worker) return;
      if (event.data === WORKER_READY) {
        this.ready = worker;
        this.startNext();
      } else {
        this.finish(Array.isArray(event.data) ? event.data : undefined);
      }
    });
    worker.addEventListener("error", () => {
      if (worker !== this.worker) return;
      // A worker that fails before it is ready would fail again: give up what waits.
      if (worker !== this.ready) for (const job of this.waiting.splice(0)) job.resolve(undefined);
      this.replaceWorker();
    });
    this.worker = worker;
    return worker;
  }

  private overrun(): void {
    const job = this.running?.job;
    job?.log?.warn(
      { chars: job.text.length },
      "message text not parsed in time, stored without md",
    );
    this.replaceWorker();
  }

  /** Drops the current worker (stuck or failed) and gives up its text; the next starts afresh. */
  private replaceWorker(): void {
    this.worker?.terminate();
    this.worker = undefined;
    if (this.running) this.finish(undefined);
  }

  private finish(md: Markdown): void {
    const running = this.running;
    if (!running) return;
    clearTimeout(running.timer);
    this.running = undefined;
    running.job.resolve(md);
    this.startNext();
  }
}

/**
 * Lets `worker` keep the process alive (`hold`) or not, as Bun's Worker `ref()` and
 * `unref()` do; the DOM typings in scope do not know them. The parser holds the process
 * only while texts wait or are parsed, so that each gets its answer: the worker serves
 * whichever servers the process runs and must not keep it alive once idle, but one left
 * unreferenced while it parses costs Bun more CPU per text (about 1 ms instead of 0.8 ms
 * for a short message when the worker was idle).
 */
function holdProcess(worker: Worker, hold: boolean): void {
  const handle = worker as Worker & { ref?: () => void; unref?: () => void };
  if (hold) handle.ref?.();
  else handle.unref?.();
}

/**
 * The parser every server of this process shares: one worker thread, started on the
 * first message and never keeping the process alive.
 */
export const markdown = new MarkdownParser();
