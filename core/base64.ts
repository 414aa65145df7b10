/** Bytes to and from base64 text, with the web-standard btoa and atob. */

/** The base64 text of `bytes`. */
export function bytesToBase64(bytes: Uint8Array): string {
  let text = "";
  // In slices, so that no argument list grows past the engine's limit.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** The bytes of base64 `text`. Throws a DOMException when it is not base64. */
export function base64ToBytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
