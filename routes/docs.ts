/**
 * The API documentation: @elysiajs/swagger builds the OpenAPI document from the routes'
 * schemas at `/api/docs/json`, and `/api/docs` renders it with Swagger UI served from the
 * swagger-ui-dist package, so the page works with no internet access.
 */
import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import { COMPATIBLE_VERSION } from "./info.ts";

const ASSETS = new URL("../node_modules/swagger-ui-dist/", import.meta.url);

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Parley REST API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.onload = () => {
      window.ui = SwaggerUIBundle({ url: "/api/docs/json", dom_id: "#swagger-ui" });
    };
  </script>
</body>
</html>`;

/** The documentation routes. */
export function docsRoutes() {
  return new Elysia()
    .use(
      swagger({
        // The plugin's own page loads Swagger UI from a CDN; it is parked here unused.
        path: "/api/docs/cdn",
        specPath: "/api/docs/json",
        // Rocket.Chat's paths contain dots (`chat.postMessage`), which the plugin would
        // otherwise take for static files and leave out of the document.
        excludeStaticFile: false,
        provider: "swagger-ui",
        documentation: {
          info: {
            title: "Parley REST API",
            version: COMPATIBLE_VERSION,
            description:
              "Rocket.Chat-compatible REST v1. Log in with POST /api/v1/login, then send " +
              "data.userId as X-User-Id and data.authToken as X-Auth-Token (Authorize button).",
          },
          components: {
            securitySchemes: {
              userId: { type: "apiKey", in: "header", name: "X-User-Id" },
              authToken: { type: "apiKey", in: "header", name: "X-Auth-Token" },
            },
          },
          security: [{ userId: [], authToken: [] }],
        },
      }),
    )
    .get(
      "/api/docs",
      () => new Response(PAGE, { headers: { "Content-Type": "text/html; charset=utf-8" } }),
      {
        detail: { hide: true },
      },
    )
    .get(
      "/api/docs/assets/:file",
      ({ params }) => {
        if (!["swagger-ui.css", "swagger-ui-bundle.js"].includes(params.file)) {
          return new Response("Not found", { status: 404 });
        }
        return new Response(Bun.file(new URL(params.file, ASSETS)));
      },
      { detail: { hide: true } },
    );
}
