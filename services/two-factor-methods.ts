/**
 * The DDP methods of TOTP two-factor authentication, as Rocket.Chat names them:
 * `2fa:enable` (a new secret and its `otpauth://` URL), `2fa:validateTempToken` (confirms
 * it, answering the backup codes), `2fa:disable`, `2fa:regenerateCodes` and
 * `2fa:checkCodesRemaining`. They need a login, refused as Rocket.Chat refuses it, with a
 * bare `not-authorized`. And `sendEmailCode`, open to anyone, which mails a new e-mail
 * code. REST reaches them through `method.call` and `method.callAnon`.
 */
import { ClientError } from "../core/errors.ts";
import { type MethodDef, open, signedIn, str, type UserMethod } from "./method-params.ts";

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
  sendEmailCode: open(async (services, caller, [emailOrUsername]) => {
    const details = { method: "sendEmailCode" };
    const given = str(emailOrUsername);
    if (!given) {
      throw new ClientError("error-parameter-required", "emailOrUsername is required", {
        details,
      });
    }
    if (!(await services.twoFactor.email.sendTo(given, caller.user?._id))) {
      throw new ClientError("error-invalid-user", "Invalid user", { details });
    }
  }),
};
