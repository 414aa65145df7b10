/**
 * The password policy of the `Accounts_Password_Policy_*` settings, read live: what
 * `pw.getPolicy` describes, and the check every path that sets a password runs. A blank
 * password is refused whether or not the policy is enabled, as in Rocket.Chat.
 */
import { ClientError } from "../core/errors.ts";
import type { Settings } from "./settings.ts";

/** One rule as `pw.getPolicy` lists it: its name and, for a limit, the limit. */
export type PolicyRule = readonly [name: string, params?: Record<string, number>];

/** What `pw.getPolicy` answers. */
export interface PolicyView {
  readonly enabled: boolean;
  readonly policy: PolicyRule[];
}

interface Policy {
  readonly enabled: boolean;
  readonly minLength: number;
  readonly maxLength: number;
  readonly forbidRepeating: boolean;
  readonly repeatCount: number;
  readonly lower: boolean;
  readonly upper: boolean;
  readonly number: boolean;
  readonly special: boolean;
}

function policyOf(settings: Settings): Policy {
  const flag = (id: string) => settings.get<boolean>(`Accounts_Password_Policy_${id}`) === true;
  const int = (id: string, fallback: number) =>
    settings.get<number>(`Accounts_Password_Policy_${id}`) ?? fallback;
  return {
    enabled: flag("Enabled"),
    minLength: int("MinLength", -1),
    maxLength: int("MaxLength", -1),
    forbidRepeating: flag("ForbidRepeatingCharacters"),
    repeatCount: int("ForbidRepeatingCharactersCount", 3),
    lower: flag("AtLeastOneLowercase"),
    upper: flag("AtLeastOneUppercase"),
    number: flag("AtLeastOneNumber"),
    special: flag("AtLeastOneSpecialCharacter"),
  };
}

/** The policy as `pw.getPolicy` shows it: no rules while it is disabled. */
export function policyView(settings: Settings): PolicyView {
  const p = policyOf(settings);
  if (!p.enabled) return { enabled: false, policy: [] };
  const policy: PolicyRule[] = [];
  if (p.minLength >= 1) policy.push(["get-password-policy-minLength", { minLength: p.minLength }]);
  if (p.maxLength >= 1) policy.push(["get-password-policy-maxLength", { maxLength: p.maxLength }]);
  if (p.forbidRepeating) policy.push(["get-password-policy-forbidRepeatingCharacters"]);
  if (p.repeatCount) {
    const params = { forbidRepeatingCharactersCount: p.repeatCount };
    policy.push(["get-password-policy-forbidRepeatingCharactersCount", params]);
  }
  if (p.lower) policy.push(["get-password-policy-mustContainAtLeastOneLowercase"]);
  if (p.upper) policy.push(["get-password-policy-mustContainAtLeastOneUppercase"]);
  if (p.number) policy.push(["get-password-policy-mustContainAtLeastOneNumber"]);
  if (p.special) policy.push(["get-password-policy-mustContainAtLeastOneSpecialCharacter"]);
  return { enabled: true, policy };
}

const NOT_MET = "The password provided does not meet the server's password policy.";

/** Each rule's refusal: its error code, its sentence, and whether `password` breaks it. */
function broken(p: Policy, password: string): { error: string; message: string }[] {
  const rules: [boolean, string, string][] = [
    [
      p.minLength >= 1 && password.length < p.minLength,
      "minLength",
      "The password does not meet the minimum length password policy.",
    ],
    [
      p.maxLength >= 1 && password.length > p.maxLength,
      "maxLength",
      "The password does not meet the maximum length password policy.",
    ],
    [
      p.forbidRepeating && new RegExp(`(.)\\1{${p.repeatCount},}`).test(password),
      "repeatingCharacters",
      "The password contains repeating characters which is against the password policy.",
    ],
    [
      p.lower && !/[a-z]/.test(password),
      "oneLowercase",
      "The password does not contain at least one lowercase character which is against the password policy.",
    ],
    [
      p.upper && !/[A-Z]/.test(password),
      "oneUppercase",
      "The password does not contain at least one uppercase character which is against the password policy.",
    ],
    [
      p.number && !/[0-9]/.test(password),
      "oneNumber",
      "The password does not contain at least one numerical character which is against the password policy.",
    ],
    [
      p.special && !/[^A-Za-z0-9 ]/.test(password),
      "oneSpecial",
      "The password does not contain at least one special character which is against the password policy.",
    ],
  ];
  return rules
    .filter(([fails]) => fails)
    .map(([, code, message]) => ({ error: `error-password-policy-not-met-${code}`, message }));
}

/**
 * Throws Rocket.Chat's `error-password-policy-not-met` for a blank password, and, while
 * the policy is enabled, for one that breaks any rule; `details` then lists every broken
 * rule as `{error, message}`.
 */
export function assertPasswordAllowed(settings: Settings, password: string): void {
  if (!password.trim()) throw new ClientError("error-password-policy-not-met", NOT_MET);
  const policy = policyOf(settings);
  if (!policy.enabled) return;
  const reasons = broken(policy, password);
  if (reasons.length > 0) {
    throw new ClientError("error-password-policy-not-met", NOT_MET, { details: reasons });
  }
}
