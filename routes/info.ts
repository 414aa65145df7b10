/**
 * `/api/info`: the server's version, with build details for logged-in callers, as
 * Rocket.Chat answers it.
 */
import { Elysia } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { apiBase, ok } from "./http.ts";

/** The Rocket.Chat version whose client protocol Parley speaks. */
export const COMPATIBLE_VERSION = "7.10.0";

/** The `/api/info` route. */
export function infoRoutes(services: Services, log: Logger) {
  return new Elysia().use(apiBase(services, log)).get(
    "/api/info",
    ({ user }) =>
      user
        ? ok({
            version: COMPATIBLE_VERSION,
            info: {
              version: COMPATIBLE_VERSION,
              build: { platform: "parley" },
              commit: {},
              marketplaceApiVersion: "1.0.0",
            },
          })
        : ok({ version: COMPATIBLE_VERSION }),
    { open: true, detail: { summary: "Server version", tags: ["Server"] } },
  );
}
