/**
 * Settings service: a registry of typed workspace settings with defaults, persisted in
 * `rocketchat_settings` and cached in memory so that services read them synchronously.
 */
import type { Clock } from "../core/clock.ts";
import { ClientError } from "../core/errors.ts";
import type { Setting } from "../core/models.ts";
import type { Collections } from "./collections.ts";

interface Definition {
  readonly value: unknown;
  readonly type: Setting["type"];
  readonly public: boolean;
  readonly group: string;
}

/** Every setting Parley knows, with Rocket.Chat's ids and defaults. */
function definitions(siteUrl: string): Record<string, Definition> {
  const general = (value: unknown, type: Setting["type"], isPublic = true): Definition => ({
    value,
    type,
    public: isPublic,
    group: "General",
  });
  const message = (value: unknown, type: Setting["type"]): Definition => ({
    value,
    type,
    public: true,
    group: "Message",
  });
  return {
    Site_Url: general(siteUrl, "string"),
    Site_Name: general("Parley", "string"),
    Language: general("", "string"),
    Accounts_RegistrationForm: { value: "Public", type: "select", public: true, group: "Accounts" },
    Accounts_AllowAnonymousRead: { value: false, type: "boolean", public: true, group: "Accounts" },
    Accounts_AllowUsernameChange: { value: true, type: "boolean", public: true, group: "Accounts" },
    UTF8_User_Names_Validation: general("[0-9a-zA-Z-_.]+", "string"),
    UTF8_Channel_Names_Validation: general("[0-9a-zA-Z-_.]+", "string"),
    UI_Use_Real_Name: { value: false, type: "boolean", public: true, group: "Layout" },
    Number_of_users_autocomplete_suggestions: {
      value: 5,
      type: "int",
      public: true,
      group: "Layout",
    },
    Accounts_SearchFields: {
      value: "username, name, bio, nickname",
      type: "string",
      public: false,
      group: "Accounts",
    },
    Discussion_enabled: { value: true, type: "boolean", public: true, group: "Discussion" },
    DirectMesssage_maxUsers: { value: 8, type: "int", public: true, group: "Message" },
    Message_AllowDirectMessagesToYourself: {
      value: true,
      type: "boolean",
      public: true,
      group: "Message",
    },
    Unread_Count: general("user_and_group_mentions_only", "select"),
    Unread_Count_DM: general("all_messages", "select"),
    Message_MaxAllowedSize: { value: 5000, type: "int", public: true, group: "Message" },
    Message_AllowEditing: { value: true, type: "boolean", public: true, group: "Message" },
    Message_AllowDeleting: { value: true, type: "boolean", public: true, group: "Message" },
    Message_AllowEditing_BlockEditInMinutes: message(0, "int"),
    Message_AllowDeleting_BlockDeleteInMinutes: message(0, "int"),
    Message_KeepHistory: message(false, "boolean"),
    Message_AllowPinning: message(true, "boolean"),
    Message_AllowStarring: message(true, "boolean"),
    Threads_enabled: { value: true, type: "boolean", public: true, group: "Threads" },
    UI_Allow_room_names_with_special_chars: {
      value: false,
      type: "boolean",
      public: true,
      group: "Layout",
    },
    UI_DisplayRoles: { value: true, type: "boolean", public: true, group: "Layout" },
    API_Default_Count: { value: 50, type: "int", public: false, group: "General" },
    API_Upper_Count_Limit: { value: 100, type: "int", public: false, group: "General" },
  };
}

/** Typed, cached access to the settings. */
export class Settings {
  private readonly values = new Map<string, Setting>();

  constructor(
    private readonly db: Collections,
    private readonly clock: Clock,
  ) {}

  /** Inserts missing settings with their defaults and loads all of them into the cache. */
  async init(siteUrl: string): Promise<void> {
    const now = this.clock.now();
    for (const [_id, def] of Object.entries(definitions(siteUrl))) {
      await this.db.settings.updateOne(
        { _id },
        {
          $setOnInsert: { value: def.value, createdAt: now },
          $set: {
            packageValue: def.value,
            type: def.type,
            public: def.public,
            group: def.group,
            _updatedAt: now,
          },
        },
        { upsert: true },
      );
    }
    await this.reload();
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

  /** Every setting, ordered by id as MongoDB orders strings (code units). */
  all(): Setting[] {
    return [...this.values.values()].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
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

  /** The public settings, ordered by id, optionally only the ids given. */
  publicSettings(ids?: readonly string[]): { _id: string; value: unknown }[] {
    return [...this.values.values()]
      .filter((s) => s.public && (!ids || ids.includes(s._id)))
      .sort((a, b) => a._id.localeCompare(b._id))
      .map(({ _id, value }) => ({ _id, value }));
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
