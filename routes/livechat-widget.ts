/**
 * Rocket.Chat's livechat widget, from the npm package `@rocket.chat/livechat` (its
 * `build/` folder), served as Rocket.Chat serves it: the widget page at `/livechat` (told
 * where the server is), its scripts beside it, and the embed script a website includes,
 * `/livechat/rocketchat-livechat.min.js`. Livechat_AllowedDomainsList, when set, limits
 * which sites may frame the widget.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { Elysia } from "elysia";
import { notFound } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { apiBase } from "./http.ts";

const TAGS = ["Omnichannel widget"];

/** The widget's build folder inside its npm package. */
const BUILD = join(dirname(require.resolve("@rocket.chat/livechat/package.json")), "build");

/** The files of the build folder (it has no subfolders), read once. */
const FILES = new Set(readdirSync(BUILD));

const TYPES: Readonly<Record<string, string>> = {
  js: "application/javascript; charset=utf-8",
  map: "application/json; charset=utf-8",
  html: "text/html; charset=utf-8",
  png: "image/png",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** The headers that keep the widget to the sites of Livechat_AllowedDomainsList, if any. */
function framing(services: Services): Record<string, string> {
  const list = (services.settings.get<string>("Livechat_AllowedDomainsList") ?? "")
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean);
  if (list.length === 0) return {};
  const sources = list.map((d) => (d.includes("://") ? d : `http://${d} https://${d}`));
  return { "Content-Security-Policy": `frame-ancestors 'self' ${sources.join(" ")}` };
}

/** The widget routes. */
export function livechatWidgetRoutes(services: Services, log: Logger) {
  let page: string | undefined;

  /** The widget page, with the server's own address for the widget to call back. */
  async function widgetPage(origin: string): Promise<string> {
    page ??= await Bun.file(join(BUILD, "index.html")).text();
    const script = `<script>window.SERVER_URL = ${JSON.stringify(origin)};</script>`;
    return page.replace("<head>", `<head>${script}`);
  }

  return new Elysia()
    .use(apiBase(services, log))
    .get(
      "/livechat",
      async ({ request }) =>
        new Response(await widgetPage(new URL(request.url).origin), {
          headers: { "Content-Type": TYPES.html as string, ...framing(services) },
        }),
      { open: true, detail: { summary: "The livechat widget page", tags: TAGS } },
    )
    .get(
      "/livechat/:file",
      ({ params }) => {
        if (!FILES.has(params.file) || params.file === "index.html") throw notFound();
        const extension = params.file.split(".").pop() ?? "";
        return new Response(Bun.file(join(BUILD, params.file)), {
          headers: {
            "Content-Type": TYPES[extension] ?? "application/octet-stream",
            "Cache-Control": "public, max-age=3600",
          },
        });
      },
      {
        open: true,
        detail: {
          summary: "The widget's scripts, and the embed script rocketchat-livechat.min.js",
          tags: TAGS,
        },
      },
    );
}
