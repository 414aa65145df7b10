/**
 * Settings as clients read and change them: one setting for an administrator, pages of
 * settings with Rocket.Chat's `query`, `fields` and `sort` parameters (REST) or the whole
 * list and what changed since a date (DDP), and a change stored and announced to the
 * clients that may see the setting.
 */
import { CONFIRM_MS } from "../bus/bus.ts";
import { parseEJSON } from "../core/ejson.ts";
import { invalidJsonQuery, jsonQueryObject } from "./json-query.ts";
import type { Setting, User } from "../core/models.ts";
import { InvalidQueryError } from "../store/types.ts";
import type { Services } from "./index.ts";
import { settingFailure } from "./settings.ts";

/** A setting as the settings routes answer it. */
export interface SettingView {
  readonly _id: string;
  readonly value: unknown;
}

/**
 * Setting `id` as `{_id, value}`, for the route that lets holders of
 * `view-privileged-setting` read any setting (public ones too, as in Rocket.Chat: anyone
 * else reads those from `settings.public`). Throws Rocket.Chat's bare 400 for an unknown id.
 */
export async function viewSetting(services: Services, id: string): Promise<SettingView> {
  const setting = services.settings.find(id);
  if (!setting) throw settingFailure();
  return { _id: setting._id, value: setting.value };
}

/** The paging, order and shape a client asks of a settings list. */
export interface SettingsQuery {
  /** Extra filter (the `query` parameter, already cleaned by `cleanSettingsQuery`). */
  readonly filter?: Record<string, unknown>;
  /** Only these ids (the comma-separated `_id` parameter of `settings.public`). */
  readonly ids?: readonly string[];
  readonly sort?: Record<string, 1 | -1>;
  /** Fields to add (1) to or drop (0) from the answered ones (the `fields` parameter). */
  readonly fields?: Record<string, 0 | 1>;
  readonly includeDefaults?: boolean;
  readonly offset: number;
  readonly count: number;
}

/** The fields Rocket.Chat answers of each listed setting. */
const LISTED_FIELDS = ["_id", "value", "enterprise", "invalidValue", "modules"] as const;

/**
 * One page of settings as Rocket.Chat lists them: hidden ones never, only public ones
 * unless `privileged`, by id unless sorted otherwise, each with `_id`, `value` and its
 * `enterprise` flag (plus what `fields` and `includeDefaults` add), and how many match.
 */
export async function settingsPage(
  services: Services,
  privileged: boolean,
  q: SettingsQuery,
): Promise<{ settings: Record<string, unknown>[]; total: number }> {
  const filter: Record<string, unknown> = {
    ...q.filter,
    ...(q.ids && { _id: { $in: [...q.ids] } }),
    hidden: { $ne: true },
    ...(!privileged && { public: true }),
  };
  const shown = new Set<string>(LISTED_FIELDS);
  for (const [field, include] of Object.entries(q.fields ?? {})) {
    if (include === 1) shown.add(field);
    else if (field !== "_id") shown.delete(field);
  }
  if (q.includeDefaults) shown.add("packageValue");
  const projection = Object.fromEntries([...shown].map((field) => [field, 1 as const]));

  const { settings } = services.deps.db;
  try {
    const [page, total] = await Promise.all([
      settings.find(filter, {
        sort: q.sort ?? { _id: 1 },
        skip: q.offset,
        limit: q.count,
        projection,
      }),
      settings.countDocuments(filter),
    ]);
    return { settings: page, total };
  } catch (error) {
    if (!(error instanceof InvalidQueryError)) throw error;
    const seen = JSON.stringify(q.filter ?? {});
    throw Object.assign(invalidJsonQuery("query", seen), { cause: error });
  }
}

/** The operators a client's settings `query` may use, as Rocket.Chat allows them. */
const QUERY_OPERATORS = new Set(["$or", "$and", "$regex"]);

/**
 * The `query` parameter of a settings list as a filter: EJSON text whose operators other
 * than `$or`, `$and` and `$regex` are dropped, as Rocket.Chat cleans it. Throws Rocket.Chat's
 * `error-invalid-query` for text that is not a JSON object.
 */
export function cleanSettingsQuery(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  return clean(jsonQueryObject("query", raw, parseEJSON)) as Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

/** `value` without the operators a client may not use, at any depth. */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith("$") || QUERY_OPERATORS.has(key))
      .map(([key, inner]) => [key, clean(inner)]),
  );
}

/** Keys that name an object's machinery rather than a field; never taken from a client. */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * The `fields` parameter: a JSON object of top-level field names to 0 or 1. Throws
 * Rocket.Chat's `error-invalid-fields` for anything else (and for a reserved key or a
 * dotted path, which no setting field needs); absent gives undefined.
 */
export function parseSettingsFields(raw: string | undefined): Record<string, 0 | 1> | undefined {
  if (raw === undefined) return undefined;
  const parsed = jsonQueryObject("fields", raw);
  const entries = Object.entries(parsed);
  const badKey = (key: string) => !/^[A-Za-z_]\w*$/.test(key) || RESERVED_KEYS.has(key);
  if (entries.some(([key, v]) => badKey(key) || (v !== 0 && v !== 1))) {
    throw invalidJsonQuery("fields", raw);
  }
  return parsed as Record<string, 0 | 1>;
}

/**
 * Sets setting `id` to `value`, for the route that lets holders of
 * `edit-privileged-setting` change settings; the change is stored, read by every service
 * of every process at once, and announced. Throws Rocket.Chat's bare 400 for an unknown id or a missing value, and
 * `error-invalid-setting-value` for a value of the wrong type.
 */
export async function changeSetting(services: Services, id: string, value: unknown): Promise<void> {
  if (value === undefined) throw settingFailure();

  const updated = await services.settings.set(id, value);
  await services.deps.bus.publishConfirmed({ kind: "settings-changed" }, CONFIRM_MS);
  announce(services, updated);
  services.livechat.settingChanged(id);
}

/**
 * Tells clients about a changed setting as Rocket.Chat does, with `["updated", {_id,
 * value, enterprise, requiredOnWizard}]`: everyone hears public ones on `stream-notify-all`
 * (as `public-settings-changed`, and wrapped in `public-info`), and every setting goes to
 * `stream-notify-logged`, where only users allowed to see privileged settings may listen
 * (see `services/streams.ts`).
 */
function announce(services: Services, setting: Setting): void {
  const { hub } = services.deps;
  const change = [
    "updated",
    {
      _id: setting._id,
      value: setting.value,
      enterprise: setting.enterprise ?? false,
      requiredOnWizard: setting.requiredOnWizard ?? false,
    },
  ];
  if (setting.public) {
    hub.emit("stream-notify-all", "public-settings-changed", change);
    hub.emit("stream-notify-all", "public-info", [["public-settings-changed", change]]);
  }
  hub.emit("stream-notify-logged", "private-settings-changed", change);
}

/** The fields DDP `public-settings/get` answers of each public setting, as Rocket.Chat. */
const PUBLIC_FIELDS = {
  _id: 1,
  value: 1,
  editor: 1,
  enterprise: 1,
  invalidValue: 1,
  modules: 1,
  requiredOnWizard: 1,
} as const;

/** The settings a DDP call may see: `{update, remove}` after a date, all of them otherwise. */
async function settingsForDdp(
  services: Services,
  filter: Record<string, unknown>,
  since: unknown,
  projection?: typeof PUBLIC_FIELDS,
) {
  const changed = since instanceof Date && { _updatedAt: { $gt: since } };
  const settings = await services.deps.db.settings.find(
    { ...filter, hidden: { $ne: true }, ...changed },
    { sort: { _id: 1 }, ...(projection && { projection }) },
  );
  // Parley never deletes a setting, so nothing is ever removed.
  return since instanceof Date ? { update: settings, remove: [] } : settings;
}

/**
 * DDP `public-settings/get`: every public setting as `{_id, value, enterprise,
 * requiredOnWizard}`, or with a Date only those changed after it as `{update, remove}`.
 */
export function publicSettingsForDdp(services: Services, since: unknown) {
  return settingsForDdp(services, { public: true }, since, PUBLIC_FIELDS);
}

/**
 * DDP `private-settings/get`: every setting as stored (after a Date, `{update, remove}`)
 * for a user who may see privileged settings, an empty list for anyone else.
 */
export async function privateSettingsForDdp(services: Services, user: User | null, since: unknown) {
  if (!user || !(await seesPrivilegedSettings(services, user))) return [];
  return settingsForDdp(services, {}, since);
}

/** Whether `user` may see privileged settings, to read them or hear them change. */
export async function seesPrivilegedSettings(services: Services, user: User): Promise<boolean> {
  return (
    (await services.authz.can(user, "view-privileged-setting")) ||
    (await services.authz.can(user, "edit-privileged-setting"))
  );
}
