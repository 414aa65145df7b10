/**
 * Random identifiers in Meteor's formats, built on the Web Crypto API so they work on any
 * standard runtime.
 */

const ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const byte of bytes) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A 17-character document id, as Meteor's `Random.id()` makes them. */
export function randomId(): string {
  return randomString(ID_ALPHABET, 17);
}

/** A 43-character unguessable secret (login tokens), as Meteor's `Random.secret()` makes them. */
export function randomSecret(): string {
  return randomString(SECRET_ALPHABET, 43);
}

/** `length` random decimal digits, as Meteor's `Random._randomString(n, "0123456789")`. */
export function randomDigits(length: number): string {
  return randomString("0123456789", length);
}

/** Source of ids for actors and services; tests pass a deterministic one. */
export interface IdSource {
  id(): string;
  secret(): string;
}

/** The production id source. */
export const randomIds: IdSource = { id: randomId, secret: randomSecret };
