/**
 * Logging in, the same for REST `login` and DDP `login`: failed-login blocking, the
 * password or resume token, the account's state and, for a password login, the second
 * factor, in Rocket.Chat's order. Every outcome is recorded for failed-login blocking.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import type { LoginResult, LoginSelector } from "./accounts.ts";
import type { Services } from "./index.ts";

/** What a client logs in with. */
export type Credentials =
  | { readonly kind: "resume"; readonly token: string }
  | {
      readonly kind: "password";
      readonly selector: LoginSelector;
      /** SHA-256 hex digest of the password. */
      readonly digest: string;
      /** The second factor sent along (Rocket.Chat's `totp: {login, code}`). */
      readonly code?: string | undefined;
    };

/** The username an attempt is counted against: the one typed, else the account's. */
function usernameOf(credentials: Credentials, user: User | null): string | undefined {
  if (credentials.kind === "password" && "username" in credentials.selector) {
    return credentials.selector.username;
  }
  return user?.username;
}

/**
 * Logs in with `credentials` from `address`. Throws ClientError: blocked
 * (`error-login-blocked-for-ip`/`-user`), Meteor's 403s for a wrong password, unknown
 * user or token, `error-user-is-not-activated`, and `totp-required`/`totp-invalid` for a
 * TOTP user without the right code. Each failure counts towards blocking.
 */
export async function signIn(
  services: Services,
  credentials: Credentials,
  address: string,
): Promise<LoginResult> {
  const { accounts, loginGuard, twoFactor } = services;
  let user: User | null = null;
  try {
    if (credentials.kind === "resume") {
      await loginGuard.assertAllowed(address, undefined);
      const result = await accounts.loginWithToken(credentials.token);
      user = result.user;
      await loginGuard.recordSuccess(address, result.user);
      return result;
    }
    user = await accounts.findLogin(credentials.selector);
    await loginGuard.assertAllowed(address, usernameOf(credentials, user));
    const checked = await accounts.checkPassword(user, credentials.digest);
    if (!checked.active) {
      throw new ClientError("error-user-is-not-activated", "User is not activated", {
        status: 403,
      });
    }
    await twoFactor.check({
      user: checked,
      code: credentials.code,
      options: { disablePasswordFallback: true },
    });
    const result = await accounts.issueToken(checked);
    await loginGuard.recordSuccess(address, checked);
    return result;
  } catch (error) {
    if (error instanceof ClientError) {
      await loginGuard.recordFailure(address, {
        _id: user?._id,
        username: usernameOf(credentials, user),
      });
    }
    throw error;
  }
}
