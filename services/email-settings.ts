/**
 * The settings of outgoing e-mail, with Rocket.Chat's ids, types and defaults (group
 * Email, section SMTP): the server to hand mail to and how to reach it, and the sender.
 * With SMTP_Host empty no mail leaves the server (see services/mailer.ts).
 */
import type { SettingDefinition } from "./settings-registry.ts";

const SMTP = { group: "Email", section: "SMTP" };

/** A setting of the SMTP section. */
function smtp(
  value: SettingDefinition["value"],
  type: SettingDefinition["type"],
  extra: Partial<SettingDefinition> = {},
): SettingDefinition {
  return { value, type, ...SMTP, ...extra };
}

/**
 * A setting of the section that words the password reset mail. Rocket.Chat's defaults are
 * keys its translations fill in; Parley has no translations, so its defaults are English
 * text with the same placeholders ([Site_Name], [Site_URL], [name], [email] and, in the
 * body, [Forgot_Password_Url]).
 */
function forgotPassword(value: string, type: SettingDefinition["type"], i18nLabel: string) {
  return { value, type, group: "Email", section: "Forgot_password_section", i18nLabel };
}

/** Every e-mail setting by id. */
export const EMAIL_SETTINGS: Readonly<Record<string, SettingDefinition>> = {
  SMTP_Protocol: smtp("smtp", "select", {
    i18nLabel: "Protocol",
    values: [
      { key: "smtp", i18nLabel: "smtp" },
      { key: "smtps", i18nLabel: "smtps" },
    ],
  }),
  SMTP_Host: smtp("", "string", { i18nLabel: "Host" }),
  SMTP_Port: smtp("", "string", { i18nLabel: "Port" }),
  SMTP_IgnoreTLS: smtp(true, "boolean", { i18nLabel: "IgnoreTLS" }),
  SMTP_Pool: smtp(true, "boolean", { i18nLabel: "Pool" }),
  SMTP_Username: smtp("", "string", { i18nLabel: "Username", secret: true }),
  SMTP_Password: smtp("", "password", { i18nLabel: "Password", secret: true }),
  From_Email: smtp("", "string"),
  Forgot_Password_Email_Subject: forgotPassword(
    "[Site_Name] - Reset your password",
    "string",
    "Subject",
  ),
  Forgot_Password_Email: forgotPassword(
    '<h2>Forgot your password?</h2><p>Follow the link below to choose a new one for your account on [Site_Name].</p><a class="btn" href="[Forgot_Password_Url]">Reset</a><p class="advice">Nothing changes until you follow the link; if you did not ask for this, ignore this mail.</p>',
    "code",
    "Body",
  ),
};
