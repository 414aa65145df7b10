/**
 * The settings of account management, with Rocket.Chat's ids, defaults and groups: what
 * users may change about themselves, the password policy, what happens to a deleted
 * user's messages, and how avatars are shown and cached. The registry merges them in.
 */
import type { SettingDefinition } from "./settings-registry.ts";

const PROFILE = {
  group: "Accounts",
  section: "Accounts_Section_Profile_SelfService",
  subsection: "Accounts_Subsection_What_Users_Can_Edit",
};
const PASSWORD_POLICY = { group: "Accounts", section: "Password_Policy" };
const AVATAR = { group: "Accounts", section: "Avatar" };

/** A setting of `place`, public unless said otherwise. */
function setting(
  value: SettingDefinition["value"],
  type: SettingDefinition["type"],
  place: { group: string; section?: string; subsection?: string },
  isPublic = true,
): SettingDefinition {
  return { value, type, ...place, public: isPublic };
}

/** Choices of `Message_ErasureType`, in Rocket.Chat's order. */
const ERASURE_TYPES = [
  { key: "Keep", i18nLabel: "Message_ErasureType_Keep" },
  { key: "Delete", i18nLabel: "Message_ErasureType_Delete" },
  { key: "Unlink", i18nLabel: "Message_ErasureType_Unlink" },
];

/** Every account setting by id. */
export const ACCOUNT_SETTINGS: Readonly<Record<string, SettingDefinition>> = {
  Accounts_AllowDeleteOwnAccount: setting(false, "boolean", PROFILE),
  Accounts_AllowUserProfileChange: setting(true, "boolean", PROFILE),
  Accounts_AllowUserAvatarChange: setting(true, "boolean", PROFILE),
  Accounts_AllowRealNameChange: setting(true, "boolean", PROFILE),
  Accounts_AllowEmailChange: setting(true, "boolean", PROFILE),
  Accounts_AllowPasswordChange: setting(true, "boolean", PROFILE),
  Accounts_AllowPasswordChangeForOAuthUsers: setting(true, "boolean", PROFILE),
  Accounts_AllowUserStatusMessageChange: setting(true, "boolean", PROFILE),
  Accounts_AvatarCacheTime: setting(3600, "int", AVATAR, false),
  Accounts_Password_Policy_Enabled: setting(false, "boolean", PASSWORD_POLICY),
  Accounts_Password_Policy_MinLength: setting(7, "int", PASSWORD_POLICY),
  Accounts_Password_Policy_MaxLength: setting(-1, "int", PASSWORD_POLICY),
  Accounts_Password_Policy_ForbidRepeatingCharacters: setting(true, "boolean", PASSWORD_POLICY),
  Accounts_Password_Policy_ForbidRepeatingCharactersCount: setting(3, "int", PASSWORD_POLICY),
  Accounts_Password_Policy_AtLeastOneLowercase: setting(true, "boolean", PASSWORD_POLICY),
  Accounts_Password_Policy_AtLeastOneUppercase: setting(true, "boolean", PASSWORD_POLICY),
  Accounts_Password_Policy_AtLeastOneNumber: setting(true, "boolean", PASSWORD_POLICY),
  Accounts_Password_Policy_AtLeastOneSpecialCharacter: setting(true, "boolean", PASSWORD_POLICY),
  UI_Use_Name_Avatar: setting(false, "boolean", { group: "Layout", section: "User_Interface" }),
  Message_ErasureType: {
    ...setting("Delete", "select", { group: "Message" }, false),
    values: ERASURE_TYPES,
  },
};
