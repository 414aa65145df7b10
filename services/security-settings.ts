/**
 * The settings of account security, with Rocket.Chat's ids and defaults: two-factor
 * authentication, blocking logins after repeated failures, and the REST and DDP rate
 * limiters. Services read them on every use, so a change takes effect at once.
 */
import type { Setting } from "../core/models.ts";
import type { SettingDefinition } from "./settings-registry.ts";

type Value = SettingDefinition["value"];

/** A setting of the Accounts group, in Rocket.Chat's section `section`. */
function accounts(section: string) {
  return (value: Value, type: Setting["type"], isPublic = false): SettingDefinition => ({
    value,
    type,
    group: "Accounts",
    section,
    public: isPublic,
  });
}

/** A setting of the Rate Limiter group, in Rocket.Chat's section `section`. */
function limiter(section: string) {
  return (value: Value, type: Setting["type"]): SettingDefinition => ({
    value,
    type,
    group: "Rate Limiter",
    section,
  });
}

const twoFactor = accounts("Two Factor Authentication");
const attempts = accounts("Login_Attempts");
const api = limiter("API_Rate_Limiter");
const ddp = limiter("DDP_Rate_Limiter");

/** One DDP rate limiter rule: on or off, how many calls, in how many milliseconds. */
function ddpRule(name: string, calls: number, intervalMs: number) {
  return {
    [`DDP_Rate_Limit_${name}_Enabled`]: ddp(true, "boolean"),
    [`DDP_Rate_Limit_${name}_Requests_Allowed`]: ddp(calls, "int"),
    [`DDP_Rate_Limit_${name}_Interval_Time`]: ddp(intervalMs, "int"),
  };
}

/** Every security setting; merged into the workspace's settings at start-up. */
export const SECURITY_SETTINGS: Readonly<Record<string, SettingDefinition>> = {
  Accounts_TwoFactorAuthentication_Enabled: twoFactor(true, "boolean", true),
  Accounts_TwoFactorAuthentication_MaxDelta: twoFactor(1, "int"),
  Accounts_TwoFactorAuthentication_By_TOTP_Enabled: twoFactor(true, "boolean", true),
  Accounts_TwoFactorAuthentication_By_Email_Enabled: twoFactor(true, "boolean", true),
  Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In: twoFactor(true, "boolean"),
  Accounts_TwoFactorAuthentication_By_Email_Code_Expiration: twoFactor(3600, "int"),
  Accounts_TwoFactorAuthentication_Max_Invalid_Email_Code_Attempts: twoFactor(5, "int"),
  Accounts_TwoFactorAuthentication_RememberFor: twoFactor(1800, "int"),
  Accounts_TwoFactorAuthentication_Enforce_Password_Fallback: twoFactor(true, "boolean", true),
  Block_Multiple_Failed_Logins_Enabled: attempts(true, "boolean"),
  Block_Multiple_Failed_Logins_By_User: attempts(true, "boolean"),
  Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User: attempts(10, "int"),
  Block_Multiple_Failed_Logins_Time_To_Unblock_By_User_In_Minutes: attempts(5, "int"),
  Block_Multiple_Failed_Logins_By_Ip: attempts(true, "boolean"),
  Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip: attempts(50, "int"),
  Block_Multiple_Failed_Logins_Time_To_Unblock_By_Ip_In_Minutes: attempts(5, "int"),
  Block_Multiple_Failed_Logins_Ip_Whitelist: attempts("", "string"),
  API_Enable_Rate_Limiter: api(true, "boolean"),
  API_Enable_Rate_Limiter_Dev: api(true, "boolean"),
  API_Enable_Rate_Limiter_Limit_Calls_Default: api(10, "int"),
  API_Enable_Rate_Limiter_Limit_Time_Default: api(60000, "int"),
  Rate_Limiter_Limit_RegisterUser: limiter("Feature_Limiting")(1, "int"),
  ...ddpRule("IP", 120000, 60000),
  ...ddpRule("User", 1200, 60000),
  ...ddpRule("Connection", 600, 60000),
  ...ddpRule("User_By_Method", 20, 10000),
  ...ddpRule("Connection_By_Method", 10, 10000),
};
