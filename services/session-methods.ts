/**
 * The DDP methods that end a user's other logins, as Meteor's accounts package names them:
 * `removeOtherTokens` (every login but the caller's own) and its older form
 * `logoutOtherClients` (the same, answering a new token to log in with). Each ended token
 * closes the connections that used it at once. Personal access tokens are kept, as
 * Rocket.Chat keeps them when it logs out other clients. An anonymous caller is refused as
 * Meteor refuses it, with `You are not logged in.`.
 */
import { ClientError } from "../core/errors.ts";
import { hashLoginToken } from "../core/password.ts";
import { type MethodDef, type SignedInCaller, signedIn, type UserMethod } from "./method-params.ts";
import { logoutOtherSessions } from "./sessions.ts";

/** Declares a method for logged-in callers, refusing others in Meteor's words. */
function ownSessionsMethod(run: UserMethod): MethodDef {
  return signedIn(run, { refusal: () => new ClientError("You are not logged in.") });
}

/** The caller's own token, hashed, when it logged in with one. */
function ownToken(caller: SignedInCaller): string[] {
  return caller.hashedToken ? [caller.hashedToken] : [];
}

export const SESSION_METHODS: Record<string, MethodDef> = {
  removeOtherTokens: ownSessionsMethod(async (services, caller) => {
    await logoutOtherSessions(services.deps, caller.user._id, ownToken(caller));
  }),
  // Meteor ends the caller's own token too, a few seconds later, so that the caller moves
  // to the new one. Here the caller's token stays valid: the connection that called keeps
  // its login, and the new token is one more way back in.
  logoutOtherClients: ownSessionsMethod(async (services, caller) => {
    const fresh = await services.accounts.issueToken(caller.user);
    const keep = [await hashLoginToken(fresh.token), ...ownToken(caller)];
    await logoutOtherSessions(services.deps, caller.user._id, keep);
    return { token: fresh.token, tokenExpires: fresh.tokenExpires };
  }),
};
