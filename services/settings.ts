/**
 * Settings service: the registered workspace settings (see `settings-registry.ts`),
 * persisted in `rocketchat_settings` and cached in memory so that services read them
 * synchronously, with the values the environment gives them at start-up.
 */
import type { Clock } from "../core/clock.ts";
import { ClientError } from "../core/errors.ts";
import type { Setting } from "../core/models.ts";
import type { Collections } from "./collections.ts";
import { DuplicateKeyError } from "../store/types.ts";
import { overrideVariable, typedValue } from "./setting-overrides.ts";
import { settingDefinitions, storedFields } from "./settings-registry.ts";

/** What the settings start from besides their definitions. */
export interface SettingsStart {
  /** Default of `Site_Url` (`ROOT_URL`). */
  readonly siteUrl: string;
  /** Default of `Accounts_RegistrationForm_SecretURL`, used only when none is stored. */
  readonly secret: string;
  /** `OVERWRITE_SETTING_<id>` values by setting id: applied and stored at every start. */
  readonly overwrites: Readonly<Record<string, string>>;
  /** Plain `<id>` values by setting id: the value of a setting stored for the first time. */
  readonly initialValues: Readonly<Record<string, string>>;
}

/** Typed, cached access to the settings. */
export class Settings {
  private readonly values = new Map<string, Setting>();

  constructor(
    private readonly db: Collections,
    private readonly clock: Clock,
  ) {}

  /**
   * Brings every registered setting in the store up to its definition (inserting the
   * missing ones with their default, or their initial value from the environment), applies
   * the overwrites from the environment, and loads all of them into the cache. Returns the
   * ids of overwrites that name no setting Parley has. Throws ConfigError, naming the
   * variable, for an environment value the setting cannot take.
   */
  async init(start: SettingsStart): Promise<string[]> {
    const now = this.clock.now();
    const definitions = settingDefinitions(start.siteUrl, start.secret);
    const stored = new Map((await this.db.settings.find({})).map((s) => [s._id, s]));

    for (const [_id, def] of Object.entries(definitions)) {
      const fields = storedFields(_id, def);
      const overwrite = start.overwrites[_id];
      const forced =
        overwrite === undefined
          ? undefined
          : typedValue(overrideVariable(_id, "overwrite"), overwrite, def);
      let current = stored.get(_id);

      if (!current) {
        const initial = start.initialValues[_id];
        const value =
          forced ??
          (initial === undefined
            ? def.value
            : typedValue(overrideVariable(_id, "initial"), initial, def));
        const fromEnv = forced !== undefined || initial !== undefined;
        try {
          await this.db.settings.insertOne({
            _id,
            value,
            ...fields,
            valueSource: fromEnv ? "processEnvValue" : "packageValue",
            ...(fromEnv && { processEnvValue: value }),
            ts: now,
            createdAt: now,
            _updatedAt: now,
          });
          continue;
        } catch (error) {
          if (!(error instanceof DuplicateKeyError)) throw error;
        }
        // Another process starting at the same moment stored it first: update that one.
        current = (await this.db.settings.findOne({ _id })) ?? undefined;
        if (!current) continue;
      }

      const changed = Object.entries(fields).filter(
        ([key, value]) => JSON.stringify(current[key]) !== JSON.stringify(value),
      );
      const update: Record<string, unknown> = Object.fromEntries(changed);
      if (forced !== undefined && current.value !== forced) {
        Object.assign(update, {
          value: forced,
          processEnvValue: forced,
          valueSource: "processEnvValue",
        });
      }
      if (Object.keys(update).length === 0) continue;
      await this.db.settings.updateOne({ _id }, { $set: { ...update, _updatedAt: now } });
    }
    await this.reload();
    return Object.keys(start.overwrites).filter((id) => !(id in definitions));
  }

  /**
   * Reads every setting from the store into the cache again: what the settings routes
   * call after they write one, so that the change takes effect at once.
   */
  async reload(): Promise<void> {
    const settings = await this.db.settings.find({});
    this.values.clear();
    for (const setting of settings) this.values.set(setting._id, setting);
  }

  /** The current value of setting `id`, or undefined when it does not exist. */
  get<T>(id: string): T | undefined {
    return this.values.get(id)?.value as T | undefined;
  }

  /** Setting `id` as stored, or undefined when Parley has no such setting. */
  find(id: string): Setting | undefined {
    return this.values.get(id);
  }

  /**
   * Stores `value` as setting `id` and updates the cache, so that every reader sees it at
   * once. Throws ClientError `error-invalid-setting-value` when the value's type does not
   * match the setting's (an int must be an integer, a boolean a boolean, a string or a
   * select a string). Returns the updated setting; the caller announces the change.
   */
  async set(id: string, value: unknown): Promise<Setting> {
    const current = this.values.get(id);
    if (!current) throw settingFailure();
    if (!matchesType(current.type, value)) {
      const seen = typeof value === "object" ? JSON.stringify(value) : String(value);
      throw new ClientError("error-invalid-setting-value", `Invalid setting value ${seen}`, {
        details: { method: "saveSettings" },
      });
    }

    const now = this.clock.now();
    await this.db.settings.updateOne({ _id: id }, { $set: { value, _updatedAt: now } });
    const updated = { ...current, value, _updatedAt: now };
    this.values.set(id, updated);
    return updated;
  }
}

/** Whether `value` may be stored in a setting of type `type`. */
function matchesType(type: Setting["type"], value: unknown): boolean {
  if (type === "int") return Number.isInteger(value);
  if (type === "boolean") return typeof value === "boolean";
  return typeof value === "string";
}

/**
 * Rocket.Chat's bare 400 `{success: false}`, with no error text, for an unknown setting
 * or an update without a `value`.
 */
export function settingFailure(): ClientError {
  return new ClientError("error-setting-failure", undefined, { plain: true });
}
