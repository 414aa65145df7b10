/**
 * What the upload tests share: real images made with sharp, a small real PDF, multipart
 * uploads over real HTTP, and a look at what the server left in its file storage.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { UPLOAD_BUCKET } from "../services/uploads.ts";
import type { Store } from "../store/types.ts";
import { type ApiResponse, type Credentials, type TestServer, api } from "./helpers.ts";

/** A PNG of `width` × `height` pixels, a gradient so that it does not compress to nothing. */
export async function png(width: number, height: number): Promise<Uint8Array> {
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 251;
  const data = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return new Uint8Array(data);
}

/** A one-page PDF that says "Parley". */
export const PDF = new TextEncoder().encode(
  [
    "%PDF-1.4",
    "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
    "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj",
    "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >> endobj",
    "4 0 obj << /Length 35 >> stream",
    "BT /F1 12 Tf 20 50 Td (Parley) Tj ET",
    "endstream endobj",
    "trailer << /Root 1 0 R >>",
    "%%EOF",
  ].join("\n"),
);

/** One file to upload: its name, declared type (none when absent) and bytes. */
export interface FileSpec {
  readonly name: string;
  readonly type?: string;
  readonly data: Uint8Array;
  /** The form field it goes in (`file` unless said). */
  readonly field?: string;
}

/**
 * POSTs a multipart upload to `route` (below `/api/v1/`) as `auth`: `fields`, then `files`
 * in order, or the files first when `filesFirst` (as Rocket.Chat's web app sends them).
 */
export async function upload(
  server: TestServer,
  route: string,
  auth: Credentials | undefined,
  files: readonly FileSpec[],
  fields: Record<string, string> = {},
  { filesFirst = false } = {},
): Promise<ApiResponse> {
  const form = new FormData();
  const appendFields = () => {
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
  };
  if (!filesFirst) appendFields();
  for (const file of files) {
    const blob = new Blob(
      [file.data as Uint8Array<ArrayBuffer>],
      file.type === undefined ? {} : { type: file.type },
    );
    form.append(file.field ?? "file", blob, file.name);
  }
  if (filesFirst) appendFields();
  return api(server, route, { body: form, ...(auth && { auth }) });
}

/** GETs `path` (an upload's URL path) with `headers`; answers status, headers and bytes. */
export async function download(server: TestServer, path: string, headers: HeadersInit = {}) {
  const response = await fetch(`${server.url}${path}`, { headers });
  return {
    status: response.status,
    headers: response.headers,
    data: new Uint8Array(await response.arrayBuffer()),
  };
}

/** The auth headers Rocket.Chat's clients send. */
export function authHeaders(auth: Credentials): Record<string, string> {
  return { "X-User-Id": auth.userId, "X-Auth-Token": auth.authToken };
}

/**
 * What the uploads storage of a server holds, sorted; for a server in another process,
 * give its data folder and, on MongoDB, a `store` on its database. On disk: the files of
 * the uploads folder, temporary ones included. In GridFS: the names of the stored files,
 * and `chunks of <id>` for chunks that belong to no stored file (an upload under way, or
 * one that was not cleaned up).
 */
export async function storedFiles(where: TestServer | string, other?: Store): Promise<string[]> {
  const store = typeof where === "string" ? other : where.parley.store;
  if (store?.engine === "mongodb") {
    const files = await store.collection(`${UPLOAD_BUCKET}.files`).find({});
    const ids = new Set(files.map((file) => String(file._id)));
    const chunks = await store
      .collection(`${UPLOAD_BUCKET}.chunks`)
      .find({}, { projection: { files_id: 1 } });
    const loose = new Set(chunks.map((c) => String(c.files_id)).filter((id) => !ids.has(id)));
    return [
      ...files.map((file) => String(file.filename)),
      ...[...loose].map((id) => `chunks of ${id}`),
    ].sort();
  }
  const dir = join(typeof where === "string" ? where : where.dataDir, "files", UPLOAD_BUCKET);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** What a server holds of its uploads: its stored files (see storedFiles) and documents. */
export async function traces(server: TestServer) {
  return {
    files: await storedFiles(server),
    docs: await server.parley.services.deps.db.uploads.countDocuments({}),
  };
}

/** A new public channel of `owner`, with `members`; resolves with its id. */
export async function channel(
  server: TestServer,
  owner: Credentials,
  members: string[] = [],
): Promise<string> {
  const name = `files-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const res = await api(server, "channels.create", { auth: owner, body: { name, members } });
  if (res.status !== 200) throw new Error(`channels.create failed: ${JSON.stringify(res.body)}`);
  return res.body.channel._id as string;
}

/** Sets setting `id` to `value` as the administrator. */
export async function setSetting(server: TestServer, id: string, value: unknown) {
  const res = await api(server, `settings/${id}`, { auth: server.admin, body: { value } });
  if (res.status !== 200) throw new Error(`setting ${id} failed: ${JSON.stringify(res.body)}`);
}
