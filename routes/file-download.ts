/**
 * Serving uploaded files at `/file-upload/:id/:name` (and Rocket.Chat's older
 * `/ufs/:store/:id/:name`), streamed from file storage, whole or by a single byte range
 * (206, or 416 for a range outside the file). While `FileUpload_ProtectFiles` is on, the
 * caller must be logged in, by the `X-User-Id`/`X-Auth-Token` headers, the `rc_uid`/
 * `rc_token` cookies or query parameters, as Rocket.Chat's clients send them; with
 * `FileUpload_Restrict_to_room_members` only the room's members, with
 * `FileUpload_Restrict_to_users_who_can_access_room` whoever may read the room. A refusal
 * is a bare 403, an unknown file a bare 404, as in Rocket.Chat.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Upload, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { UPLOAD_BUCKET } from "../services/uploads.ts";
import type { ByteRange } from "../store/files.ts";
import { apiBase, UNTRUSTED_CONTENT_HEADERS } from "./http.ts";

const TAGS = ["Rooms"];

/**
 * The value of cookie `name` in a `Cookie` header, or undefined, also when the value is not
 * valid percent-encoding (it then logs nobody in).
 */
function cookie(header: string | null, name: string): string | undefined {
  for (const pair of (header ?? "").split(";")) {
    const [key, ...value] = pair.trim().split("=");
    if (key !== name) continue;
    try {
      return decodeURIComponent(value.join("="));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The caller, by headers (already resolved as `user`), query parameters or cookies. */
async function caller(
  services: Services,
  request: Request,
  user: User | null,
  query: { rc_uid?: string; rc_token?: string },
): Promise<User | null> {
  if (user) return user;
  const header = request.headers.get("cookie");
  const uid = query.rc_uid ?? cookie(header, "rc_uid");
  const token = query.rc_token ?? cookie(header, "rc_token");
  return uid && token ? services.accounts.authenticate(uid, token) : null;
}

/** Whether `user` may download `upload` under the current settings. */
async function mayDownload(services: Services, upload: Upload, user: User | null) {
  const { settings, authz } = services;
  if (settings.get<boolean>("FileUpload_ProtectFiles") === false) return true;
  if (!user) return false;
  const members = settings.get<boolean>("FileUpload_Restrict_to_room_members") === true;
  const readers =
    settings.get<boolean>("FileUpload_Restrict_to_users_who_can_access_room") === true;
  if (!members && !readers) return true;
  if (members && !readers) return authz.isMember(upload.rid, user._id);
  if (readers && !members) {
    const room = await services.rooms.byId(upload.rid);
    return room !== null && (await authz.canAccessRoom(room, user));
  }
  return false;
}

/**
 * The range a `Range` header asks of a file of `size` bytes: undefined for the whole file
 * (no header, another unit, several ranges, which are answered whole, or a header that is
 * not valid, such as `bytes=5-2` or `bytes=-`, which HTTP says to ignore), null when it
 * lies outside the file. The unit is matched in any case.
 */
export function requestedRange(header: string | null, size: number): ByteRange | null | undefined {
  const match = /^bytes=(\d*)-(\d*)$/i.exec(header?.trim() ?? "");
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first !== "" && last !== "" && Number(last) < Number(first)) return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

/**
 * `name` percent-encoded as RFC 8187 wants a `filename*` value: encodeURIComponent, plus
 * the `'()*` it leaves alone but the RFC does not allow.
 */
function extValue(name: string): string {
  return encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `Content-Disposition` naming the file, safe for any name. */
function disposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${extValue(name)}`;
}

/** The largest stream from file storage that is read whole to be sent with its length. */
const BUFFERED_BYTES = 4 * 1024 * 1024;

/** Answers a download of upload `id`. */
async function download(
  services: Services,
  request: Request,
  id: string,
  user: User | null,
  query: { rc_uid?: string; rc_token?: string; download?: string },
): Promise<Response> {
  const upload = await services.deps.db.uploads.findOne({ _id: id });
  if (!upload) return new Response(null, { status: 404 });
  if (!(await mayDownload(services, upload, await caller(services, request, user, query)))) {
    return new Response(null, { status: 403 });
  }
  const bucket = services.deps.files.bucket(UPLOAD_BUCKET);
  const range = requestedRange(request.headers.get("range"), upload.size);
  const headers: Record<string, string> = {
    "Content-Type": upload.type || "application/octet-stream",
    "Content-Disposition": disposition(
      query.download !== undefined ? "attachment" : "inline",
      upload.name,
    ),
    "Accept-Ranges": "bytes",
    "Last-Modified": upload.uploadedAt.toUTCString(),
    "Cache-Control": "private, max-age=31536000",
    ...UNTRUSTED_CONTENT_HEADERS,
  };
  if (range === null) {
    return new Response(null, {
      status: 416,
      headers: { ...headers, "Content-Range": `bytes */${upload.size}` },
    });
  }
  const opened = await bucket.open(id, range);
  if (!opened) return new Response(null, { status: 404 });
  const length = range ? range.end - range.start + 1 : opened.size;
  // Bun declares the length of a Blob body (sent from disk as it is read) but drops a
  // declared Content-Length for a stream body (oven-sh/bun#10507), which GridFS gives: a
  // GridFS file up to BUFFERED_BYTES is read whole first, so that it is sent with its
  // length, and a larger one is streamed with chunked transfer encoding instead.
  let body: Blob | ArrayBuffer | ReadableStream<Uint8Array> = opened.stream;
  if (opened.blob) {
    await opened.stream.cancel();
    body = opened.blob;
  } else if (length <= BUFFERED_BYTES) {
    body = await new Response(opened.stream).arrayBuffer();
  }
  return new Response(body, {
    status: range ? 206 : 200,
    headers: {
      ...headers,
      "Content-Length": String(length),
      ...(range && { "Content-Range": `bytes ${range.start}-${range.end}/${opened.size}` }),
    },
  });
}

const DOWNLOAD_QUERY = t.Object({
  rc_uid: t.Optional(t.String()),
  rc_token: t.Optional(t.String()),
  download: t.Optional(t.String()),
});

/** Where files are served: Parley's address, and Rocket.Chat's older one. */
const ADDRESSES = [
  {
    path: "/file-upload/:id/:name",
    summary: "An uploaded file (Range requests answered with 206)",
  },
  { path: "/ufs/:store/:id/:name", summary: "An uploaded file, at Rocket.Chat's older address" },
];

/** The file download routes. */
export function fileDownloadRoutes(services: Services, log: Logger) {
  let app = new Elysia().use(apiBase(services, log));
  for (const { path, summary } of ADDRESSES) {
    app = app.get(
      path,
      ({ params, request, user, query }) =>
        download(services, request, (params as { id: string }).id, user, query),
      { open: true, query: DOWNLOAD_QUERY, detail: { summary, tags: TAGS } },
    ) as unknown as typeof app;
  }
  return app;
}
