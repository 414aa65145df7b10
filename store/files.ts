/**
 * File storage: named blobs with a content type, kept in buckets (`avatars`, `uploads`).
 * The embedded engine writes each blob as one file under `<dataDir>/files/<bucket>/`,
 * durably (a temporary file, flushed, then renamed over the old one); the MongoDB engine
 * keeps blobs in GridFS, one bucket per name, as Rocket.Chat keeps its avatars and
 * uploads. Blobs are written from a stream and read as a stream (whole or a byte range),
 * so a large file never sits whole in memory; a write that fails or is cut off halfway
 * leaves nothing behind.
 */
import { randomUUID } from "node:crypto";
import { openAsBlob } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Db, GridFSBucket } from "mongodb";

/** A stored blob: its bytes and what was said about them when it was written. */
export interface StoredFile {
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  /** When this version of the blob was written. */
  readonly uploadedAt: Date;
  readonly data: Uint8Array;
}

/** A stored blob opened for reading: what was said about it, and a stream of its bytes. */
export interface OpenedFile {
  readonly name: string;
  readonly contentType: string;
  /** The size of the whole blob, whatever range `stream` carries. */
  readonly size: number;
  readonly uploadedAt: Date;
  /** The bytes asked for: all of them, or the range given to `open`. */
  readonly stream: ReadableStream<Uint8Array>;
  /**
   * The same bytes as a Blob read lazily from disk, where the engine has one: an HTTP
   * answer made of it declares its length and is sent without passing through memory.
   */
  readonly blob?: Blob;
}

/** Chunks of bytes, as a web stream, a Node stream or a plain list yields them. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A range of bytes, both ends included, as HTTP ranges count them. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** One bucket of named blobs. A name holds at most one blob; writing it again replaces it. */
export interface FileBucket {
  /**
   * Stores `data` under `name` with `contentType`, replacing what was there; resolves
   * once the blob is durable. Throws InvalidFileNameError for a name that is empty, longer
   * than 255 characters or holds `/`, `\` or a NUL.
   */
  put(name: string, data: Uint8Array, contentType: string, uploadedAt: Date): Promise<void>;
  /**
   * Stores the bytes `source` yields under `name`, as `put` does, reading them as they
   * come; resolves with their count once the blob is durable. Throws FileTooLargeError as
   * soon as more than `maxBytes` arrive (no limit when absent or negative), and rethrows
   * whatever `source` throws; in both cases nothing is stored and what was there stays.
   */
  write(
    name: string,
    source: ByteSource,
    contentType: string,
    uploadedAt: Date,
    maxBytes?: number,
  ): Promise<number>;
  /** The blob stored under `name`, read whole into memory (for small blobs), or null. */
  get(name: string): Promise<StoredFile | null>;
  /**
   * The blob under `name` with a stream of its bytes (those of `range` when given; the
   * caller keeps the range within the size), or null. The stream must be read or
   * cancelled.
   */
  open(name: string, range?: ByteRange): Promise<OpenedFile | null>;
  /** Removes the blob under `name`; resolves whether there was one. */
  delete(name: string): Promise<boolean>;
}

/** The file storage of one store: a bucket per name. */
export interface FileStorage {
  bucket(name: string): FileBucket;
}

/** A blob or bucket name the storage refuses. */
export class InvalidFileNameError extends Error {
  override readonly name = "InvalidFileNameError";
  readonly code = "invalid-file-name";
}

/** A blob larger than the writer allowed. */
export class FileTooLargeError extends Error {
  override readonly name = "FileTooLargeError";
  readonly code = "file-too-large";

  constructor(readonly maxBytes: number) {
    super(`The file is larger than ${maxBytes} bytes`);
  }
}

/** Counts the bytes `source` yields, throwing FileTooLargeError past `maxBytes` (if not negative). */
async function* counted(
  source: ByteSource,
  maxBytes: number | undefined,
  count: (n: number) => void,
): AsyncIterable<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (maxBytes !== undefined && maxBytes >= 0 && total > maxBytes) {
      throw new FileTooLargeError(maxBytes);
    }
    count(total);
    yield chunk;
  }
}

/** A web stream over an async iterable of byte chunks, pulled as the reader asks. */
function webStream(
  source: AsyncIterable<Uint8Array>,
  close?: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          await close?.();
          controller.close();
        } else {
          controller.enqueue(next.value);
        }
      } catch (error) {
        await close?.();
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return?.();
      await close?.();
    },
  });
}

function checkName(name: string): void {
  if (name.length === 0 || name.length > 255 || /[/\\\0]/.test(name) || /^\.\.?$/.test(name)) {
    throw new InvalidFileNameError(`Not a valid file name: ${JSON.stringify(name)}`);
  }
}

/** What the first line of an embedded blob file says about the bytes after it. */
interface Header {
  readonly contentType: string;
  readonly uploadedAt: string;
}

/** Bytes read at a time while looking for the end of a blob file's header line. */
const HEADER_READ = 4096;

/**
 * The start of blob file `whole` up to its header line's end: `head` holds the bytes read
 * and `end` the index of the line's newline in them, -1 when the file has none. Reads on
 * until the newline, so a header of any length is found.
 */
async function headerLine(whole: Blob): Promise<{ head: Uint8Array; end: number }> {
  const parts: Uint8Array[] = [];
  let read = 0;
  for (;;) {
    const part = new Uint8Array(await whole.slice(read, read + HEADER_READ).arrayBuffer());
    const at = part.indexOf(10);
    parts.push(part);
    if (at >= 0) return { head: Buffer.concat(parts), end: read + at };
    if (part.byteLength === 0) return { head: Buffer.concat(parts), end: -1 };
    read += part.byteLength;
  }
}

/**
 * Blobs as files, one per name: a JSON header line, then the bytes. Names are encoded so
 * that any name is a safe file name, whatever its characters or case.
 */
class DiskBucket implements FileBucket {
  constructor(private readonly dir: string) {}

  private pathOf(name: string): string {
    checkName(name);
    return join(this.dir, `${encodeURIComponent(name).replaceAll(".", "%2E")}.blob`);
  }

  async put(name: string, data: Uint8Array, contentType: string, uploadedAt: Date) {
    await this.write(name, [data], contentType, uploadedAt);
  }

  async write(
    name: string,
    source: ByteSource,
    contentType: string,
    uploadedAt: Date,
    maxBytes?: number,
  ): Promise<number> {
    const path = this.pathOf(name);
    await mkdir(this.dir, { recursive: true });
    const header: Header = { contentType, uploadedAt: uploadedAt.toISOString() };
    const temp = join(this.dir, `.${randomUUID()}.tmp`);
    let size = 0;
    try {
      const file = await open(temp, "w");
      try {
        await file.write(`${JSON.stringify(header)}\n`);
        for await (const chunk of counted(source, maxBytes, (n) => void (size = n))) {
          await file.write(chunk);
        }
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    // The rename itself is durable only once the folder is flushed.
    const folder = await open(this.dir, "r");
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
    return size;
  }

  async get(name: string): Promise<StoredFile | null> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.pathOf(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const end = bytes.indexOf(10);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, end))) as Header;
    const data = bytes.subarray(end + 1);
    return {
      name,
      contentType: header.contentType,
      uploadedAt: new Date(header.uploadedAt),
      size: data.byteLength,
      data,
    };
  }

  async open(name: string, range?: ByteRange): Promise<OpenedFile | null> {
    let whole: Blob;
    let found: { head: Uint8Array; end: number };
    try {
      // A missing file shows only once the Blob is read, not when it is opened.
      whole = await openAsBlob(this.pathOf(name));
      found = await headerLine(whole);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const { head, end } = found;
    if (end < 0) throw new Error(`The stored blob ${JSON.stringify(name)} has no header line`);
    const header = JSON.parse(new TextDecoder().decode(head.subarray(0, end))) as Header;
    const offset = end + 1;
    const size = whole.size - offset;
    const from = offset + (range?.start ?? 0);
    const to = offset + (range ? range.end + 1 : size);
    const blob = whole.slice(from, to, header.contentType);
    return {
      name,
      contentType: header.contentType,
      uploadedAt: new Date(header.uploadedAt),
      size,
      stream: blob.stream(),
      blob,
    };
  }

  async delete(name: string): Promise<boolean> {
    const path = this.pathOf(name);
    try {
      await rm(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }
}

/** File storage under `<dataDir>/files`, for the embedded engine. */
export function diskFileStorage(dataDir: string): FileStorage {
  return {
    bucket(name) {
      checkName(name);
      return new DiskBucket(join(dataDir, "files", name));
    },
  };
}

/** Blobs in one GridFS bucket: a file per name, its content type in `metadata`. */
class GridBucket implements FileBucket {
  constructor(private readonly grid: GridFSBucket) {}

  async put(name: string, data: Uint8Array, contentType: string, uploadedAt: Date) {
    await this.write(name, [data], contentType, uploadedAt);
  }

  async write(
    name: string,
    source: ByteSource,
    contentType: string,
    uploadedAt: Date,
    maxBytes?: number,
  ): Promise<number> {
    checkName(name);
    const previous = await this.grid.find({ filename: name }).toArray();
    const upload = this.grid.openUploadStream(name, { metadata: { contentType, uploadedAt } });
    // Failures reach the callbacks below; without a listener, an 'error' event would be
    // thrown as an uncaught exception.
    upload.on("error", () => undefined);
    let size = 0;
    // The chunk being written: its callback runs once the chunks it completed are stored.
    let writing = Promise.resolve();
    try {
      for await (const chunk of counted(source, maxBytes, (n) => void (size = n))) {
        writing = new Promise<void>((resolve, reject) =>
          upload.write(chunk, (error) => (error ? reject(error) : resolve())),
        );
        await writing;
      }
      await new Promise<void>((resolve, reject) => {
        upload.once("error", reject);
        upload.end(() => resolve());
      });
    } catch (error) {
      // Once the chunk in flight has landed, removes every chunk written, so a cut-off
      // upload leaves nothing.
      await writing.catch(() => undefined);
      await upload.abort().catch(() => undefined);
      throw error;
    }
    // The new version is complete before the old ones go, so a reader always finds one.
    for (const file of previous) await this.grid.delete(file._id);
    return size;
  }

  async get(name: string): Promise<StoredFile | null> {
    checkName(name);
    const [file] = await this.grid
      .find({ filename: name })
      .sort({ uploadDate: -1 })
      .limit(1)
      .toArray();
    if (!file) return null;
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.grid.openDownloadStream(file._id)) chunks.push(chunk);
    const data = new Uint8Array(Buffer.concat(chunks));
    const metadata = (file.metadata ?? {}) as { contentType?: string; uploadedAt?: Date };
    return {
      name,
      contentType: metadata.contentType ?? "application/octet-stream",
      uploadedAt: metadata.uploadedAt ?? file.uploadDate,
      size: data.byteLength,
      data,
    };
  }

  async open(name: string, range?: ByteRange): Promise<OpenedFile | null> {
    checkName(name);
    const [file] = await this.grid
      .find({ filename: name })
      .sort({ uploadDate: -1 })
      .limit(1)
      .toArray();
    if (!file) return null;
    const metadata = (file.metadata ?? {}) as { contentType?: string; uploadedAt?: Date };
    const download = this.grid.openDownloadStream(
      file._id,
      range ? { start: range.start, end: range.end + 1 } : {},
    );
    return {
      name,
      contentType: metadata.contentType ?? "application/octet-stream",
      uploadedAt: metadata.uploadedAt ?? file.uploadDate,
      size: file.length,
      stream: webStream(download as AsyncIterable<Uint8Array>, async () => {
        download.destroy();
      }),
    };
  }

  async delete(name: string): Promise<boolean> {
    checkName(name);
    const files = await this.grid.find({ filename: name }).toArray();
    for (const file of files) await this.grid.delete(file._id);
    return files.length > 0;
  }
}

/** File storage in GridFS buckets of database `db`, for the MongoDB engine. */
export function gridFileStorage(db: Db): FileStorage {
  return {
    bucket(name) {
      checkName(name);
      return new GridBucket(new GridFSBucket(db, { bucketName: name }));
    },
  };
}
