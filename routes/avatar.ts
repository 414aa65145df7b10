/**
 * Avatars: `users.setAvatar` (an uploaded image as multipart field `image`, or a `data:`
 * URL as `avatarUrl`), `users.resetAvatar`, `users.getAvatar` (a redirect), and the image
 * itself at `GET /avatar/:username`: the uploaded one, or Rocket.Chat's generated SVG
 * (`/avatar/@text` always gives the SVG of `text`), with caching headers.
 *
 * Remote avatar URLs are refused, never fetched: Parley reaches only its own machine, and
 * fetching a URL a client names would let any user make the server request addresses on
 * its network. Clients answer such URLs with Rocket.Chat's own refusal of a URL it could
 * not load (`error-avatar-invalid-url`); the image itself can be uploaded instead.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import {
  type AvatarImage,
  imageFromDataUrl,
  initialsSvg,
  invalidAvatarUrl,
  resetAvatar,
  setAvatar,
  uploadedAvatar,
} from "../services/avatars.ts";
import { AVATAR_BITMAPS, renderSvg } from "../services/images.ts";
import type { Services } from "../services/index.ts";
import { apiBase, json, ok, UNTRUSTED_CONTENT_HEADERS } from "./http.ts";
import { userFromParams } from "./room-params.ts";

const TAGS = ["Users"];

/** What Rocket.Chat's generated avatar claims as its modification time. */
const FALLBACK_LAST_MODIFIED = "Thu, 01 Jan 2015 00:00:00 GMT";

/** A form or JSON body of `users.setAvatar`, as Elysia parsed it. */
type AvatarBody = Record<string, unknown>;

const text = (value: unknown) => (typeof value === "string" && value ? value : undefined);

/** The user an avatar change is for: the caller, or whom the body names. */
async function target(services: Services, me: User, body: AvatarBody): Promise<User | null> {
  const userId = text(body.userId);
  const username = text(body.username);
  const self =
    (!userId && !username) ||
    userId === me._id ||
    username?.toLowerCase() === me.username.toLowerCase();
  if (self) return me;
  if (!(await services.authz.can(me, "edit-other-user-avatar"))) {
    throw new ClientError("error-not-allowed", "Not allowed");
  }
  return userFromParams(services, {
    ...(userId && { userId }),
    ...(username && { username }),
  }).catch((error: unknown) => {
    if (!(error instanceof ClientError)) throw error;
    throw new ClientError(
      "error-invalid-user",
      'The optional "userId" or "username" param provided does not match any users',
    );
  });
}

/** The image a `users.setAvatar` body carries, or Rocket.Chat's refusal. */
async function imageOf(body: AvatarBody): Promise<AvatarImage | Response> {
  const url = text(body.avatarUrl);
  if (url) {
    if (url.startsWith("data:")) return imageFromDataUrl(url);
    throw invalidAvatarUrl(url);
  }
  const image = body.image;
  if (!(image instanceof Blob)) {
    return json(400, { success: false, error: "The 'image' param is required" });
  }
  const contentType = image.type.split(";")[0]?.trim().toLowerCase() ?? "";
  return { data: new Uint8Array(await image.arrayBuffer()), contentType };
}

/** The headers every avatar answer carries: caching and inline display. */
function cacheHeaders(services: Services, cacheTime: string | undefined) {
  const seconds = Number(cacheTime) || services.settings.get<number>("Accounts_AvatarCacheTime");
  return {
    "Cache-Control": `public, max-age=${seconds ?? 3600}`,
    "Content-Disposition": "inline",
    ...UNTRUSTED_CONTENT_HEADERS,
  };
}

/** The avatar routes. */
export function avatarRoutes(services: Services, log: Logger) {
  return new Elysia()
    .use(apiBase(services, log))
    .post(
      "/api/v1/users.setAvatar",
      async ({ me, body }) => {
        const fields = (body ?? {}) as AvatarBody;
        const canEditOthers = await services.authz.can(me, "edit-other-user-avatar");
        if (
          services.settings.get<boolean>("Accounts_AllowUserAvatarChange") === false &&
          !canEditOthers
        ) {
          throw new ClientError("error-not-allowed", "Change avatar is not allowed", {
            details: { method: "users.setAvatar" },
          });
        }
        const user = await target(services, me, fields);
        if (!user) return json(401, { success: false, error: "unauthorized" });
        const image = await imageOf(fields);
        if (image instanceof Response) return image;
        await setAvatar(services, user, image);
        return ok();
      },
      {
        access: true,
        detail: {
          summary: "Set an avatar: multipart `image`, or a data: URL as `avatarUrl`",
          tags: TAGS,
        },
      },
    )
    .post(
      "/api/v1/users.resetAvatar",
      async ({ me, body }) => {
        const user = await userFromParams(services, body);
        const own = user._id === me._id;
        const allowed =
          (own && services.settings.get<boolean>("Accounts_AllowUserAvatarChange") !== false) ||
          (await services.authz.can(me, "edit-other-user-avatar")) ||
          (await services.authz.can(me, "manage-moderation-actions"));
        if (!allowed) {
          throw new ClientError("error-not-allowed", "Reset avatar is not allowed", {
            details: { method: "users.resetAvatar" },
          });
        }
        await resetAvatar(services, user);
        return ok();
      },
      {
        access: true,
        body: t.Object({
          userId: t.Optional(t.String()),
          username: t.Optional(t.String()),
          user: t.Optional(t.String()),
        }),
        detail: { summary: "Go back to the generated avatar", tags: TAGS },
      },
    )
    .get(
      "/api/v1/users.getAvatar",
      async ({ query }) => {
        const user = await userFromParams(services, query);
        const root = services.settings.get<string>("Site_Url") ?? "";
        const url = `${root.replace(/\/$/, "")}/avatar/${encodeURIComponent(user.username)}`;
        return new Response(JSON.stringify(url), {
          status: 307,
          headers: { Location: url, "Content-Type": "application/json" },
        });
      },
      {
        open: true,
        query: t.Object({
          userId: t.Optional(t.String()),
          username: t.Optional(t.String()),
          user: t.Optional(t.String()),
        }),
        detail: { summary: "Redirects to a user's avatar", tags: TAGS },
      },
    )
    .get(
      "/avatar/:username",
      async ({ params, query, request }) => {
        const requested = params.username;
        if (!requested) return new Response(null, { status: 404 });
        const headers = cacheHeaders(services, query.cacheTime);
        const size = Number(query.size) || undefined;
        // Rocket.Chat renders the letters as a bitmap when asked for one by `format`.
        const bitmap = AVATAR_BITMAPS.find((f) => f === query.format);
        const svg = async (name: string, all = false) => {
          const image = initialsSvg(name, size, all);
          return new Response(bitmap ? await renderSvg(image, bitmap) : image, {
            headers: {
              ...headers,
              "Content-Type": bitmap ? `image/${bitmap}` : "image/svg+xml",
              "Last-Modified": FALLBACK_LAST_MODIFIED,
            },
          });
        };
        if (requested.startsWith("@")) {
          return svg(
            requested.slice(1),
            services.settings.get<boolean>("UI_Use_Name_Avatar") === true,
          );
        }
        const user = await services.accounts.byUsernameAnyCase(requested);
        const file = user ? await uploadedAvatar(services, user._id) : null;
        const since = request.headers.get("if-modified-since");
        if (file) {
          const modified = file.uploadedAt.toUTCString();
          if (since === modified) {
            return new Response(null, {
              status: 304,
              headers: { ...headers, "Last-Modified": modified },
            });
          }
          return new Response(file.data.slice(), {
            headers: {
              ...headers,
              "Content-Type": file.contentType,
              "Content-Length": String(file.size),
              "Last-Modified": modified,
            },
          });
        }
        if (since === FALLBACK_LAST_MODIFIED) return new Response(null, { status: 304, headers });
        if (
          services.settings.get<boolean>("UI_Use_Name_Avatar") &&
          typeof user?.name === "string"
        ) {
          return svg(user.name, true);
        }
        return svg(requested);
      },
      {
        query: t.Object({
          size: t.Optional(t.String()),
          cacheTime: t.Optional(t.String()),
          format: t.Optional(t.String()),
        }),
        detail: { summary: "A user's avatar image", tags: TAGS },
      },
    );
}
