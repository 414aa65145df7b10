/**
 * Structured logging. One root logger per process; components take a child carrying
 * their ids (`connId`, `userId`, `rid`). Levels: error = a request failed or an actor
 * crashed; warn = degraded but serving (a restart, a slow consumer dropped); info =
 * lifecycle; debug = per message.
 */
import pino from "pino";
import type { LogLevel } from "./config.ts";

export type Logger = pino.Logger;

/** The root logger, writing JSON lines to standard output at `level`. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: "parley" } });
}
