/**
 * Time-based one-time passwords (RFC 6238 over RFC 4226): 30-second steps, 6 digits,
 * HMAC-SHA-1, secrets in base32 as authenticator apps take them, and the 8-character
 * single-use backup codes Rocket.Chat hands out, stored only as SHA-256 hex digests. All
 * cryptography is WebCrypto.
 */

/** Seconds per step. */
const STEP_SECONDS = 30;
/** Digits of a code. */
const DIGITS = 6;
/** Bytes of a new secret: 160 bits, the HMAC-SHA-1 key size RFC 4226 recommends. */
const SECRET_BYTES = 20;
/** How many backup codes one enrolment or regeneration hands out, as Rocket.Chat. */
const BACKUP_CODES = 12;
/** Letters of Meteor's `Random.id()`, which Rocket.Chat's backup codes are made of. */
const CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** `bytes` in base32 (RFC 4648) without padding. */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The bytes of a base32 text (case, spaces and padding ignored); null if it is not base32. */
export function base32Decode(text: string): Uint8Array | null {
  const clean = text.replace(/[\s=]/g, "").toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) return null;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** A new random secret, in base32. */
export function newSecret(): string {
  return base32Encode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The `otpauth://` URL authenticator apps scan, labelled as Rocket.Chat labels it. */
export function otpauthUrl(secret: string, username: string): string {
  return `otpauth://totp/${encodeURIComponent(`Rocket.Chat:${username}`)}?secret=${secret}`;
}

/** The HOTP value (RFC 4226) of `key` at `counter`, as a zero-padded decimal code. */
async function hotp(key: Uint8Array, counter: number): Promise<string> {
  const message = new DataView(new ArrayBuffer(8));
  message.setUint32(0, Math.floor(counter / 2 ** 32));
  message.setUint32(4, counter >>> 0);
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(key),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, message.buffer));
  const offset = (mac[mac.length - 1] as number) & 15;
  const binary = new DataView(mac.buffer, offset, 4).getUint32(0) & 0x7fffffff;
  return String(binary % 10 ** DIGITS).padStart(DIGITS, "0");
}

/** The step that `time` falls in. */
function stepOf(time: Date): number {
  return Math.floor(time.getTime() / 1000 / STEP_SECONDS);
}

/** The code of base32 `secret` at `time`; throws for a secret that is not base32. */
export async function totpCode(secret: string, time: Date): Promise<string> {
  const key = base32Decode(secret);
  if (!key) throw new TypeError("TOTP secret is not base32");
  return hotp(key, stepOf(time));
}

/**
 * Whether `code` is the code of `secret` at `time` or at most `window` steps before or
 * after it (Rocket.Chat's `Accounts_TwoFactorAuthentication_MaxDelta`, 1 by default).
 * False for anything that is not six digits and for a secret that is not base32.
 */
export async function verifyTotp(
  secret: string,
  code: string,
  time: Date,
  window: number,
): Promise<boolean> {
  const key = base32Decode(secret);
  if (!key || key.length === 0 || !/^\d{6}$/.test(code)) return false;
  const step = stepOf(time);
  const reach = Math.max(0, Math.min(window, 10));
  let found = false;
  // Every candidate is computed, so the time taken does not tell which one matched.
  for (let delta = -reach; delta <= reach; delta++) {
    if (timingSafeEqual(await hotp(key, step + delta), code)) found = true;
  }
  return found;
}

/** Whether two strings are equal, comparing every character whatever the first difference. */
function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** SHA-256 hex digest of a backup code: the only form in which backup codes are stored. */
export async function hashBackupCode(code: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(code));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether `code` has a backup code's shape (8 characters), as Rocket.Chat tells them apart. */
export function isBackupCodeShape(code: string): boolean {
  return code.length === 8;
}

/** A new set of backup codes: the codes to show once, and their digests to store. */
export async function newBackupCodes(): Promise<{ codes: string[]; hashed: string[] }> {
  const codes: string[] = [];
  const limit = 256 - (256 % CODE_ALPHABET.length);
  while (codes.length < BACKUP_CODES) {
    let code = "";
    while (code.length < 8) {
      for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
        if (byte < limit && code.length < 8) code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
      }
    }
    codes.push(code);
  }
  return { codes, hashed: await Promise.all(codes.map(hashBackupCode)) };
}
