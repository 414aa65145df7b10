/**
 * Reading a `multipart/form-data` upload as it arrives, with busboy (the parser
 * Rocket.Chat's upload routes use): text fields are collected, the one file part is handed
 * over as a stream of chunks while the request is still coming in, with backpressure, so
 * a large file never sits whole in memory. Text fields may come before or after the file,
 * so whoever stores the file learns them only once the whole body is read. Whatever the
 * outcome, the whole request body is read before the answer, so the client always
 * receives it.
 */
import type { Readable } from "node:stream";
import busboy from "busboy";
import { ClientError } from "../core/errors.ts";

/** The file part of an upload, as its client described it, and its bytes as they arrive. */
export interface FilePart {
  readonly field: string;
  readonly filename: string;
  readonly mimeType: string;
  readonly chunks: AsyncIterable<Uint8Array>;
  /**
   * Every text field of the form, those after the file part included: resolves once the
   * whole body is read, rejects when it breaks off or is malformed.
   */
  fields(): Promise<Readonly<Record<string, string>>>;
}

/** What reading an upload gives: its text fields and what `store` made of its file part. */
export interface Upload<T> {
  readonly fields: Record<string, string>;
  readonly stored: T | undefined;
}

/** How to read an upload. */
export interface MultipartOptions<T> {
  /** The field the file must come in; a file in another field answers `invalid-field`. */
  readonly field: string;
  /** Consumes the file part (its chunks must be read to the end or abandoned by throwing). */
  store(part: FilePart): Promise<T>;
  /** Undoes `store` when the request fails after the file was stored. */
  discard(stored: T): Promise<void>;
}

/** Most text fields, bytes per field name and bytes per field value an upload may carry. */
const MAX_FIELDS = 50;
const MAX_FIELD_NAME_BYTES = 100;
const MAX_FIELD_BYTES = 1024 * 1024;

/** Chunks buffered from a file part before the parser is paused. */
const HIGH_WATER = 4;

/**
 * The chunks of a busboy file stream as an async iterable with backpressure, and a way to
 * drop the rest of them once the consumer gives up, so that the parser keeps going.
 */
function partChunks(file: Readable) {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: unknown;
  let dropping = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  file.on("data", (chunk: Uint8Array) => {
    if (dropping) return;
    queue.push(chunk);
    if (queue.length >= HIGH_WATER) file.pause();
    notify();
  });
  file.on("end", () => {
    ended = true;
    notify();
  });
  file.on("error", (error: unknown) => {
    failure = error;
    notify();
  });
  const chunks: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          if (queue.length < HIGH_WATER / 2) file.resume();
          yield chunk;
          continue;
        }
        if (failure !== undefined) throw failure;
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
  const drop = () => {
    dropping = true;
    queue.length = 0;
    file.resume();
  };
  return { chunks, drop };
}

/**
 * Bytes of request body between two garbage collections. The engine frees the chunks of a
 * request body, already written out, only when it next collects, and on its own it waits
 * until about the whole upload is garbage: the process would grow by the size of each
 * upload. A full collection every 8 MiB keeps that growth to a few chunks, for a few
 * milliseconds of collection per 8 MiB received.
 */
const COLLECT_EVERY = 8 * 1024 * 1024;

/** Feeds the request body into the parser, waiting whenever the parser asks to. */
async function feed(body: ReadableStream<Uint8Array>, parser: busboy.Busboy): Promise<void> {
  const reader = body.getReader();
  let uncollected = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    uncollected += value.byteLength;
    if (uncollected > COLLECT_EVERY) {
      uncollected = 0;
      Bun.gc(true);
    }
    if (!parser.write(value)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          parser.off("drain", done);
          parser.off("close", done);
          resolve();
        };
        parser.on("drain", done);
        parser.on("close", done);
      });
    }
  }
  parser.end();
}

/**
 * Reads `request` as a multipart upload: collects its fields, hands its one file part to
 * `options.store`, and resolves once the whole body was read and the file stored. Throws
 * (after reading the rest of the body, and discarding a stored file) Rocket.Chat's
 * refusals: a body that is not multipart, `invalid-field` for a file in another field,
 * `Just 1 file is allowed` for a second file, `No file uploaded` for none,
 * `error-too-many-fields` past 50 text fields, and whatever `store` threw; and, where
 * Rocket.Chat would keep a field cut short, `error-field-too-large` for a field name over
 * 100 bytes or a value over 1 MiB. A body cut off halfway throws too, after `store` failed on its chunks.
 */
export async function readUpload<T>(request: Request, options: MultipartOptions<T>) {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": request.headers.get("content-type") ?? "" },
      defParamCharset: "utf8",
      limits: {
        files: 1,
        fields: MAX_FIELDS,
        fieldNameSize: MAX_FIELD_NAME_BYTES,
        fieldSize: MAX_FIELD_BYTES,
      },
    });
  } catch (error) {
    throw new ClientError("error-invalid-body", (error as Error).message, {
      plain: true,
      cause: error,
    });
  }
  const fields: Record<string, string> = Object.create(null);
  const complete = Promise.withResolvers<Readonly<Record<string, string>>>();
  complete.promise.catch(() => undefined);
  let refusal: unknown;
  let storing: Promise<T> | undefined;
  const refuse = (error: unknown) => {
    refusal ??= error;
  };

  // Past a limit the parser cuts a field short, or skips it, and says so: the upload is
  // refused rather than kept with text that is not what was sent.
  parser.on("field", (name, value, info) => {
    if (info.nameTruncated || info.valueTruncated) {
      const what = info.nameTruncated ? "A form field name" : `Form field "${name}"`;
      const limit = info.nameTruncated ? MAX_FIELD_NAME_BYTES : MAX_FIELD_BYTES;
      refuse(new ClientError("error-field-too-large", `${what} is longer than ${limit} bytes`));
      return;
    }
    fields[name] = value;
  });
  parser.on("fieldsLimit", () => {
    refuse(new ClientError("error-too-many-fields", "Too many fields in upload"));
  });
  parser.on("file", (field, file, info) => {
    const { chunks, drop } = partChunks(file);
    if (field !== options.field) {
      drop();
      refuse(new ClientError("invalid-field"));
      return;
    }
    const part = {
      field,
      filename: info.filename ?? "",
      mimeType: info.mimeType,
      chunks,
      fields: () => complete.promise,
    };
    // Called from a later tick, so that whatever `store` throws, even at once, rejects
    // `storing` instead of escaping into the parser.
    storing = Promise.resolve()
      .then(() => options.store(part))
      .catch((error: unknown) => {
        drop();
        refuse(error);
        throw error;
      });
    storing.catch(() => undefined);
  });
  parser.on("filesLimit", () => {
    // Rocket.Chat refuses a second file with a bare string, so its answer has no errorType.
    refuse(new ClientError("error-too-many-files", "Just 1 file is allowed", { plain: true }));
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("close", resolve);
    parser.on("error", reject);
  });

  // A body that breaks off or is malformed is the root cause of whatever else failed.
  let broken: ClientError | undefined;
  try {
    await Promise.all([feed(request.body ?? new ReadableStream(), parser), parsed]);
  } catch (error) {
    parser.destroy(error as Error);
    broken = new ClientError("error-invalid-body", (error as Error).message, {
      plain: true,
      cause: error,
    });
  }
  if (broken) complete.reject(broken);
  else complete.resolve({ ...fields });
  const stored = storing ? await storing.catch(() => undefined) : undefined;
  if (broken !== undefined || refusal !== undefined || !storing) {
    if (stored !== undefined) await options.discard(stored);
    throw broken ?? refusal ?? new ClientError("No file uploaded");
  }
  return { fields, stored } as Upload<T>;
}
