/** Every REST resource of the API, mounted together. */
import { Elysia } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { authRoutes } from "./auth.ts";
import { infoRoutes } from "./info.ts";

/** The REST API: `/api/info` and everything under `/api/v1`. */
export function apiRoutes(services: Services, log: Logger) {
  return new Elysia().use(infoRoutes(services, log)).use(authRoutes(services, log));
}
