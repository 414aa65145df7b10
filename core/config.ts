/**
 * Parley's configuration: read once from the environment at start-up, validated, frozen,
 * and passed to whatever needs it. Nothing else reads the environment.
 */

import { hostname } from "node:os";
import { isEmailAddress } from "./models.ts";

/** Pino's level names; `silent` turns logging off. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** HTTP and WebSocket port (`PORT`, default 3000; 0 picks a free port). */
  readonly port: number;
  /** Address to listen on (`HOST`, default `0.0.0.0`: every interface). */
  readonly host: string;
  /** Public URL of the server (`ROOT_URL`, default `http://localhost:<port>`). */
  readonly rootUrl: string;
  /** MongoDB connection string (`MONGO_URL`); absent means the embedded store. */
  readonly mongoUrl: string | undefined;
  /**
   * NATS server joining the processes of one deployment (`NATS_URL`, such as
   * `nats://127.0.0.1:4222`); absent means this process runs alone.
   */
  readonly natsUrl: string | undefined;
  /** Folder of the embedded store (`DATA_DIR`, default `./data`). */
  readonly dataDir: string;
  /** First administrator, created on an empty database when `ADMIN_PASS` is set. */
  readonly admin:
    | { readonly username: string; readonly password: string; readonly email: string }
    | undefined;
  /**
   * `TEST_MODE=true`, as Rocket.Chat's test mode: seeds its test admin, turns the REST and DDP
   * rate limiters off and lets every two-factor check pass.
   */
  readonly testMode: boolean;
  /** `LOG_LEVEL`, default `info`. */
  readonly logLevel: LogLevel;
  /**
   * This process's name among the processes sharing one database (`INSTANCE_ID`, default
   * `<host name>:<PORT>`, with a random suffix when PORT is 0). Connection records carry it, so a process that restarts under the
   * same name removes the records its previous run left behind.
   */
  readonly instanceId: string;
  /**
   * How often this process records that it is alive and sweeps the connection records of
   * processes that stopped (`PRESENCE_HEARTBEAT_MS`, default 30,000). A process silent for
   * three heartbeats counts as gone, and its users' connections with it.
   */
  readonly presenceHeartbeatMs: number;
  /**
   * `OVERWRITE_SETTING_<id>` variables by setting id: values that setting `<id>` takes
   * (and keeps in the store) at every start, typed by the setting when applied.
   */
  readonly settingOverwrites: Readonly<Record<string, string>>;
  /**
   * Variables named like Rocket.Chat settings (a letter, then letters, digits, `_` or `-`,
   * with both upper and lower case, as in `Site_Name`) by name: the value of that setting
   * when the store does not hold it yet, as Rocket.Chat takes initial values.
   */
  readonly settingInitialValues: Readonly<Record<string, string>>;
  /**
   * How many proxies stand in front of Parley (`HTTP_FORWARDED_COUNT`, default 0), as
   * Meteor reads it: the client's address is then that many entries from the end of
   * `X-Forwarded-For`. With 0 the address is the socket's, and the header is ignored.
   */
  readonly httpForwardedCount: number;
}

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

function readPort(value: string | undefined): number {
  if (value === undefined || value === "") return 3000;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new ConfigError("PORT", `expected a port number from 0 to 65535, got "${value}"`);
  }
  return port;
}

function readHost(value: string | undefined): string {
  if (value === undefined || value === "") return "0.0.0.0";
  if (!/^[A-Za-z0-9.:-]+$/.test(value) && !/^\[[0-9A-Fa-f:]+\]$/.test(value)) {
    throw new ConfigError("HOST", `expected an IP address or host name, got "${value}"`);
  }
  return value;
}

function readUrl(variable: string, value: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, `expected a URL, got "${value}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(variable, `expected a ${protocols.join(" or ")} URL, got "${value}"`);
  }
  return value;
}

function readBoolean(variable: string, value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw new ConfigError(variable, `expected "true" or "false", got "${value}"`);
}

function readForwardedCount(value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  if (!/^\d{1,2}$/.test(value)) {
    throw new ConfigError("HTTP_FORWARDED_COUNT", `expected a number of proxies, got "${value}"`);
  }
  return Number(value);
}

function readAdmin(env: Record<string, string | undefined>): Config["admin"] {
  const password = env.ADMIN_PASS;
  if (password === undefined || password === "") return undefined;
  const username = env.ADMIN_USERNAME || "admin";
  if (!/^[A-Za-z0-9._-]+$/.test(username)) {
    throw new ConfigError(
      "ADMIN_USERNAME",
      `expected letters, digits, ".", "_" or "-", got "${username}"`,
    );
  }
  // `.localhost` is reserved (RFC 6761), so the default can never reach anybody.
  const email = env.ADMIN_EMAIL || `${username}@parley.localhost`;
  if (!isEmailAddress(email)) {
    throw new ConfigError("ADMIN_EMAIL", `expected an e-mail address, got "${email}"`);
  }
  return { username, password, email };
}

function readHeartbeat(value: string | undefined): number {
  if (value === undefined || value === "") return 30_000;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 100) {
    throw new ConfigError(
      "PRESENCE_HEARTBEAT_MS",
      `expected a number of milliseconds, at least 100, got "${value}"`,
    );
  }
  return Number(value);
}

function readInstanceId(value: string | undefined, port: number): string {
  if (value === undefined || value === "") {
    // A free port is a new one at each start: nothing to recognize an earlier run by, and
    // two processes on one host must not share the name `<host>:0`.
    return port === 0
      ? `${hostname()}:0:${crypto.randomUUID().slice(0, 8)}`
      : `${hostname()}:${port}`;
  }
  if (!/^[\w.:-]{1,100}$/.test(value)) {
    throw new ConfigError(
      "INSTANCE_ID",
      `expected up to 100 letters, digits, ".", ":", "_" or "-", got "${value}"`,
    );
  }
  return value;
}

const OVERWRITE_PREFIX = "OVERWRITE_SETTING_";

/** Whether `name` is shaped like a Rocket.Chat setting id rather than a usual variable. */
function looksLikeSettingId(name: string): boolean {
  return /^[A-Za-z][\w-]*$/.test(name) && /[a-z]/.test(name) && /[A-Z]/.test(name);
}

/** The setting values in the environment: overwrites and initial values, by setting id. */
function readSettingValues(env: Record<string, string | undefined>) {
  const overwrites: Record<string, string> = {};
  const initial: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith(OVERWRITE_PREFIX)) {
      const id = name.slice(OVERWRITE_PREFIX.length);
      if (id === "") throw new ConfigError(name, "expected a setting id after the prefix");
      overwrites[id] = value;
    } else if (looksLikeSettingId(name)) {
      initial[name] = value;
    }
  }
  return {
    settingOverwrites: Object.freeze(overwrites),
    settingInitialValues: Object.freeze(initial),
  };
}

/**
 * Builds the configuration from an environment map (usually `process.env`).
 * Throws ConfigError, naming the variable, for any value that cannot be used.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const port = readPort(env.PORT);
  const logLevel = (env.LOG_LEVEL || "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(
      "LOG_LEVEL",
      `expected one of ${LOG_LEVELS.join(", ")}, got "${env.LOG_LEVEL}"`,
    );
  }
  const mongoUrl = env.MONGO_URL
    ? readUrl("MONGO_URL", env.MONGO_URL, ["mongodb:", "mongodb+srv:"])
    : undefined;
  return Object.freeze({
    port,
    host: readHost(env.HOST),
    rootUrl: env.ROOT_URL
      ? readUrl("ROOT_URL", env.ROOT_URL, ["http:", "https:"])
      : `http://localhost:${port}`,
    mongoUrl,
    natsUrl: env.NATS_URL ? readUrl("NATS_URL", env.NATS_URL, ["nats:", "tls:"]) : undefined,
    dataDir: env.DATA_DIR || "./data",
    admin: readAdmin(env),
    testMode: readBoolean("TEST_MODE", env.TEST_MODE),
    logLevel,
    instanceId: readInstanceId(env.INSTANCE_ID, port),
    presenceHeartbeatMs: readHeartbeat(env.PRESENCE_HEARTBEAT_MS),
    ...readSettingValues(env),
    httpForwardedCount: readForwardedCount(env.HTTP_FORWARDED_COUNT),
  });
}
