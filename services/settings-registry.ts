/**
 * The settings Parley knows: for each one Rocket.Chat's id, type, default value, group,
 * section, public flag and labels, as Rocket.Chat registers it, and the document Parley
 * stores for it in `rocketchat_settings` (the same fields Rocket.Chat stores, so that
 * its clients and tooling read them unchanged).
 *
 * Limitation: only the settings Parley reads are registered, so the admin `sorter` of
 * each setting is the one Rocket.Chat gives explicitly, or 0, not the position it would
 * take among all of Rocket.Chat's settings; and no group documents are stored.
 */
import type { Setting } from "../core/models.ts";
import { ACCOUNT_SETTINGS } from "./account-settings.ts";
import { EMAIL_SETTINGS } from "./email-settings.ts";
import { LIVECHAT_SETTINGS } from "./livechat-settings.ts";
import { SECURITY_SETTINGS } from "./security-settings.ts";
import { UPLOAD_SETTINGS } from "./upload-settings.ts";

/** One choice of a `select` setting: its stored key and the label clients translate. */
export interface SettingChoice {
  readonly key: string;
  readonly i18nLabel: string;
}

/** How a setting is registered, with Rocket.Chat's defaults left out. */
export interface SettingDefinition {
  readonly value: string | number | boolean;
  readonly type: Setting["type"];
  readonly group: string;
  readonly section?: string;
  readonly subsection?: string;
  readonly public?: boolean;
  readonly secret?: boolean;
  readonly sorter?: number;
  readonly i18nLabel?: string;
  readonly i18nDescription?: string;
  readonly values?: readonly SettingChoice[];
}

/** `Accounts_RegistrationForm`'s choices, in Rocket.Chat's order. */
const REGISTRATION_FORMS: readonly SettingChoice[] = [
  { key: "Public", i18nLabel: "Accounts_RegistrationForm_Public" },
  { key: "Secret URL", i18nLabel: "Accounts_RegistrationForm_Secret_URL" },
  { key: "Disabled", i18nLabel: "Accounts_RegistrationForm_Disabled" },
];

const UNREAD_COUNTS: readonly SettingChoice[] = [
  { key: "all_messages", i18nLabel: "All_messages" },
  { key: "user_mentions_only", i18nLabel: "User_mentions_only" },
  { key: "group_mentions_only", i18nLabel: "Group_mentions_only" },
  { key: "user_and_group_mentions_only", i18nLabel: "User_and_group_mentions_only" },
];

const UNREAD_COUNTS_DM: readonly SettingChoice[] = [
  { key: "all_messages", i18nLabel: "All_messages" },
  { key: "mentions_only", i18nLabel: "Mentions_only" },
];

/** A setting of the Accounts group, in one of its sections and subsections. */
function account(
  value: SettingDefinition["value"],
  type: Setting["type"],
  where: { section: string; subsection: string; sorter: number },
  extra: Partial<SettingDefinition> = {},
): SettingDefinition {
  return { value, type, group: "Accounts", ...where, ...extra };
}

const SIGN_UP = "Accounts_Section_Registration_SignUp";
const WHO_CAN_JOIN = { section: SIGN_UP, subsection: "Accounts_Subsection_Who_Can_Join" };
const REQUIREMENTS = { section: SIGN_UP, subsection: "Accounts_Subsection_SignUp_Requirements" };
const METHODS = { section: SIGN_UP, subsection: "Accounts_Subsection_Registration_Methods" };
const IDENTITIES = { section: SIGN_UP, subsection: "Accounts_Subsection_Allowed_Identities" };
const PROFILE = {
  section: "Accounts_Section_Profile_SelfService",
  subsection: "Accounts_Subsection_What_Users_Can_Edit",
};
const DIRECTORY = "Accounts_Section_User_Directory_Search";

/**
 * Every registered setting by id. `siteUrl` is the default of `Site_Url` (from
 * `ROOT_URL`); `secret` is the default of `Accounts_RegistrationForm_SecretURL`, a random
 * id as in Rocket.Chat, kept once stored.
 */
export function settingDefinitions(
  siteUrl: string,
  secret: string,
): Readonly<Record<string, SettingDefinition>> {
  const general = (
    value: SettingDefinition["value"],
    type: Setting["type"],
    extra: Partial<SettingDefinition> = {},
  ): SettingDefinition => ({ value, type, group: "General", public: true, ...extra });
  const message = (
    value: SettingDefinition["value"],
    type: Setting["type"],
    extra: Partial<SettingDefinition> = {},
  ): SettingDefinition => ({ value, type, group: "Message", public: true, ...extra });
  const layout = (value: SettingDefinition["value"], type: Setting["type"]): SettingDefinition => ({
    value,
    type,
    group: "Layout",
    section: "User_Interface",
    public: true,
  });
  const restApi = (value: number, isPublic: boolean): SettingDefinition => ({
    value,
    type: "int",
    group: "General",
    section: "REST API",
    public: isPublic,
  });
  const utf8 = (value: string, i18nDescription: string): SettingDefinition =>
    general(value, "string", { section: "UTF8", i18nDescription });

  return {
    Site_Url: general(siteUrl, "string", { i18nDescription: "Site_Url_Description" }),
    // Parley's own name where Rocket.Chat's default is "Rocket.Chat".
    Site_Name: general("Parley", "string"),
    Language: general("", "language"),
    Store_Last_Message: general(true, "boolean", {
      i18nDescription: "Store_Last_Message_Sent_per_Room",
    }),
    Unread_Count: general("user_and_group_mentions_only", "select", { values: UNREAD_COUNTS }),
    Unread_Count_DM: general("all_messages", "select", { values: UNREAD_COUNTS_DM }),
    UTF8_User_Names_Validation: utf8("[0-9a-zA-Z-_.]+", "UTF8_User_Names_Validation_Description"),
    UTF8_Channel_Names_Validation: utf8(
      "[0-9a-zA-Z-_.]+",
      "UTF8_Channel_Names_Validation_Description",
    ),
    API_Upper_Count_Limit: restApi(100, true),
    API_Default_Count: restApi(50, false),
    API_User_Limit: restApi(500, true),

    Accounts_RegistrationForm: account(
      "Public",
      "select",
      { ...WHO_CAN_JOIN, sorter: 1000 },
      { public: true, values: REGISTRATION_FORMS },
    ),
    Accounts_RegistrationForm_SecretURL: account(
      secret,
      "string",
      { ...WHO_CAN_JOIN, sorter: 1001 },
      { secret: true },
    ),
    Accounts_RequireNameForSignUp: account(
      true,
      "boolean",
      { ...REQUIREMENTS, sorter: 1007 },
      { public: true },
    ),
    Accounts_PasswordReset: account(
      true,
      "boolean",
      { ...REQUIREMENTS, sorter: 1009 },
      { public: true },
    ),
    Accounts_Registration_Users_Default_Roles: account(
      "user",
      "string",
      { ...METHODS, sorter: 1012 },
      { public: true },
    ),
    Accounts_BlockedUsernameList: account("", "string", { ...IDENTITIES, sorter: 1017 }),
    Accounts_AllowUsernameChange: account(
      true,
      "boolean",
      { ...PROFILE, sorter: 5002 },
      { public: true },
    ),
    Accounts_AllowUserStatusMessageChange: account(
      true,
      "boolean",
      { ...PROFILE, sorter: 5005 },
      { public: true },
    ),
    Accounts_AllowInvisibleStatusOption: account(
      true,
      "boolean",
      { ...PROFILE, sorter: 5006 },
      { public: true },
    ),
    Accounts_SearchFields: account("username, name, bio, nickname", "string", {
      section: DIRECTORY,
      subsection: "Accounts_Subsection_Search_Directory",
      sorter: 6000,
    }),
    Accounts_AllowAnonymousRead: account(
      false,
      "boolean",
      { section: DIRECTORY, subsection: "Accounts_Subsection_Anonymous_Access", sorter: 6002 },
      { public: true },
    ),

    UI_DisplayRoles: layout(true, "boolean"),
    UI_Use_Real_Name: layout(false, "boolean"),
    Number_of_users_autocomplete_suggestions: layout(5, "int"),
    UI_Allow_room_names_with_special_chars: layout(false, "boolean"),

    Message_AllowEditing: message(true, "boolean"),
    Message_AllowEditing_BlockEditInMinutes: message(0, "int", {
      i18nDescription: "Message_AllowEditing_BlockEditInMinutesDescription",
    }),
    Message_AllowDeleting: message(true, "boolean"),
    Message_AllowDeleting_BlockDeleteInMinutes: message(0, "int", {
      i18nDescription: "Message_AllowDeleting_BlockDeleteInMinutes",
    }),
    Message_AllowDirectMessagesToYourself: message(true, "boolean"),
    Message_KeepHistory: message(false, "boolean"),
    Message_MaxAllowedSize: message(5000, "int"),
    DirectMesssage_maxUsers: message(8, "int"),
    Message_AllowPinning: message(true, "boolean"),
    Message_AllowStarring: message(true, "boolean"),
    Message_CustomFields_Enabled: message(false, "boolean", { public: false }),

    Threads_enabled: {
      value: true,
      type: "boolean",
      group: "Threads",
      public: true,
      i18nLabel: "Enable",
    },
    Discussion_enabled: {
      value: true,
      type: "boolean",
      group: "Discussion",
      public: true,
      i18nLabel: "Enable",
    },
    ...ACCOUNT_SETTINGS,
    ...SECURITY_SETTINGS,
    ...UPLOAD_SETTINGS,
    ...LIVECHAT_SETTINGS,
    ...EMAIL_SETTINGS,
  };
}

/**
 * The document Rocket.Chat stores for a setting, without its value and dates: every
 * field it derives from the definition, with its defaults (`i18nLabel` the id,
 * `i18nDescription` the id with `_Description`, nothing hidden, blocked or enterprise).
 */
export function storedFields(
  id: string,
  def: SettingDefinition,
): Pick<Setting, "packageValue" | "type" | "public" | "group"> & Record<string, unknown> {
  return {
    packageValue: def.value,
    secret: def.secret ?? false,
    enterprise: false,
    i18nDescription: def.i18nDescription ?? `${id}_Description`,
    autocomplete: true,
    sorter: def.sorter ?? 0,
    group: def.group,
    ...(def.section !== undefined && { section: def.section }),
    ...(def.subsection !== undefined && { subsection: def.subsection }),
    ...(def.values !== undefined && { values: def.values }),
    i18nLabel: def.i18nLabel ?? id,
    hidden: false,
    blocked: false,
    requiredOnWizard: false,
    type: def.type,
    env: false,
    public: def.public ?? false,
  };
}
