/**
 * File storage: named blobs with a content type, kept in buckets (`avatars`, later
 * `uploads`). The embedded engine writes each blob as one file under
 * `<dataDir>/files/<bucket>/`, durably (a temporary file, flushed, then renamed over the
 * old one); the MongoDB engine keeps blobs in GridFS, one bucket per name, as Rocket.Chat
 * keeps its avatars and uploads.
 */
import { randomUUID } from "node:crypto";
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

/** One bucket of named blobs. A name holds at most one blob; writing it again replaces it. */
export interface FileBucket {
  /**
   * Stores `data` under `name` with `contentType`, replacing what was there; resolves
   * once the blob is durable. Throws InvalidFileNameError for a name that is empty, longer
   * than 255 characters or holds `/`, `\` or a NUL.
   */
  put(name: string, data: Uint8Array, contentType: string, uploadedAt: Date): Promise<void>;
  /** The blob stored under `name`, or null. */
  get(name: string): Promise<StoredFile | null>;
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
    const path = this.pathOf(name);
    await mkdir(this.dir, { recursive: true });
    const header: Header = { contentType, uploadedAt: uploadedAt.toISOString() };
    const temp = join(this.dir, `.${randomUUID()}.tmp`);
    const file = await open(temp, "w");
    try {
      await file.write(`${JSON.stringify(header)}\n`);
      await file.write(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path).catch(async (error: unknown) => {
      await rm(temp, { force: true });
      throw error;
    });
    // The rename itself is durable only once the folder is flushed.
    const folder = await open(this.dir, "r");
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
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
    checkName(name);
    const previous = await this.grid.find({ filename: name }).toArray();
    await new Promise<void>((resolve, reject) => {
      const upload = this.grid.openUploadStream(name, { metadata: { contentType, uploadedAt } });
      upload.once("error", reject);
      upload.once("finish", () => resolve());
      upload.end(data);
    });
    // The new version is complete before the old ones go, so a reader always finds one.
    for (const file of previous) await this.grid.delete(file._id);
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
