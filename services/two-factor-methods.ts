/**
 * The DDP methods of TOTP two-factor authentication, as Rocket.Chat names them:
 * `2fa:enable` (a new secret and its `otpauth://` URL), `2fa:validateTempToken` (confirms
 * it, answering the backup codes), `2fa:disable`, `2fa:regenerateCodes` and
 * `2fa:checkCodesRemaining`. They need a login, refused as Rocket.Chat refuses it, with a
 * bare `not-authorized`. REST reaches them through `method.call`.
 */
import { ClientError } from "../core/errors.ts";
import { type MethodDef, signedIn, type UserMethod } from "./method-params.ts";

/** Declares a 2fa method: logged-in callers only, anonymous ones refused `not-authorized`. */
function twoFactorMethod(run: UserMethod): MethodDef {
  return signedIn(run, { refusal: () => new ClientError("not-authorized") });
}

export const TWO_FACTOR_METHODS: Record<string, MethodDef> = {
  "2fa:enable": twoFactorMethod((services, caller) => services.twoFactor.enable(caller.user)),
  "2fa:validateTempToken": twoFactorMethod((services, caller, [code]) =>
    services.twoFactor.confirm(caller.user, code, caller.hashedToken),
  ),
  "2fa:disable": twoFactorMethod((services, caller, [code]) =>
    services.twoFactor.disable(caller.user, code),
  ),
  "2fa:regenerateCodes": twoFactorMethod((services, caller, [code]) =>
    services.twoFactor.regenerateCodes(caller.user, code),
  ),
  "2fa:checkCodesRemaining": twoFactorMethod(async (services, caller) =>
    services.twoFactor.codesRemaining(caller.user),
  ),
};
