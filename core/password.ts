/**
 * Password hashing as Rocket.Chat stores it: bcrypt over the SHA-256 hex digest of the
 * password, so a database moved from Rocket.Chat keeps working and DDP clients can send
 * only the digest. bcrypt comes from Bun's native implementation; this is the one
 * Bun-specific piece under core/ (on another runtime, swap in a bcrypt library here).
 */
import { bytesToBase64 } from "./base64.ts";

/** SHA-256 hex digest of a plain password, as Meteor clients send it. */
export async function passwordDigest(plain: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(plain));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** bcrypt hash (cost 10) of a SHA-256 hex digest. */
export function hashDigest(digest: string): Promise<string> {
  return Bun.password.hash(digest, { algorithm: "bcrypt", cost: 10 });
}

/** Whether `digest` matches the stored bcrypt `hash`; false for a malformed hash. */
export async function verifyDigest(digest: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(digest, hash, "bcrypt");
  } catch {
    return false;
  }
}

/** base64 SHA-256 of a login token: the only form in which tokens are stored. */
export async function hashLoginToken(token: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return bytesToBase64(new Uint8Array(bytes));
}
