/**
 * What Parley reads from uploaded images, with sharp (libvips, the library Rocket.Chat
 * uses): a picture's format and dimensions, a thumbnail that fits a box, and the tiny
 * blurred preview clients show while the image loads. Each reads the image as a stream.
 * Also renders the generated avatars (SVG) as bitmaps for clients that ask for one.
 */
import { Readable } from "node:stream";
import sharp, { type Sharp } from "sharp";

/** What Rocket.Chat stores as an image's `identify`: its format and, when known, its size. */
export interface ImageIdentity {
  readonly format: string;
  readonly size?: { readonly width: number; readonly height: number };
}

/** A thumbnail as made: its bytes, format and dimensions. */
export interface Thumbnail {
  readonly data: Uint8Array;
  readonly format: string;
  readonly width: number;
  readonly height: number;
}

/**
 * The largest image Parley decodes. sharp reads a streamed image whole before it decodes
 * it, so a larger one would sit in memory several times over (measured, previewed,
 * thumbnailed): it is kept and shared unmeasured, with no preview or thumbnail, and
 * clients show the image itself.
 */
export const MAX_DECODED_IMAGE_BYTES = 16 * 1024 * 1024;

/** The types whose dimensions Rocket.Chat measures at upload. */
const MEASURED = /^image\/((x-windows-)?bmp|p?jpeg|png|gif|webp)$/;

/** Whether an upload of `type` and `size` bytes gets its format and dimensions measured. */
export function isMeasuredImage(type: string, size: number): boolean {
  return MEASURED.test(type) && size <= MAX_DECODED_IMAGE_BYTES;
}

/** Feeds `stream` into `image` as sharp reads it. */
function pipeInto(stream: ReadableStream<Uint8Array>, image: Sharp): Sharp {
  const source = Readable.fromWeb(stream as unknown as Parameters<typeof Readable.fromWeb>[0]);
  source.on("error", (error) => image.destroy(error));
  source.pipe(image);
  return image;
}

/** An image as measured: what Rocket.Chat stores of it, and whether EXIF turns it. */
export interface MeasuredImage {
  readonly identity: ImageIdentity;
  /** Whether the image is stored as it is displayed (no EXIF orientation turns it). */
  readonly upright: boolean;
}

/**
 * The format and dimensions of the image `stream` carries, as displayed: an EXIF
 * orientation that turns the picture swaps width and height. Throws when the bytes are
 * not an image sharp can read.
 */
export async function identifyImage(stream: ReadableStream<Uint8Array>): Promise<MeasuredImage> {
  const metadata = await pipeInto(stream, sharp()).metadata();
  const turned = metadata.orientation !== undefined && metadata.orientation >= 5;
  const width = turned ? metadata.height : metadata.width;
  const height = turned ? metadata.width : metadata.height;
  return {
    identity: {
      format: metadata.format ?? "",
      ...(width !== undefined && height !== undefined && { size: { width, height } }),
    },
    upright: (metadata.orientation ?? 1) === 1,
  };
}

/**
 * The image `stream` carries, turned and flipped as its EXIF orientation says, in its own
 * format and without the orientation (or any other metadata). Throws when the bytes are
 * not an image sharp can read and write.
 */
export async function turnUpright(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await pipeInto(stream, sharp().rotate()).toBuffer());
}

/**
 * A thumbnail of the image `stream` carries that fits in `width` × `height`, turned
 * upright; SVG becomes PNG, anything else keeps its format. Throws when the bytes are not
 * an image sharp can read.
 */
export async function makeThumbnail(
  stream: ReadableStream<Uint8Array>,
  width: number,
  height: number,
  svg: boolean,
): Promise<Thumbnail> {
  let image: Sharp = sharp().resize({ width, height, fit: "inside" }).rotate();
  if (svg) image = image.png();
  const { data, info } = await pipeInto(stream, image).toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data),
    format: info.format,
    width: info.width,
    height: info.height,
  };
}

/** Rocket.Chat's `image_preview`: the image within 32 × 32, blurred, as base64 JPEG. */
export async function makePreview(stream: ReadableStream<Uint8Array>): Promise<string> {
  const image = sharp().resize({ width: 32, height: 32, fit: "inside" }).jpeg().blur();
  return (await pipeInto(stream, image).toBuffer()).toString("base64");
}

/** The bitmap formats a generated avatar can be asked for, as Rocket.Chat names them. */
export const AVATAR_BITMAPS = ["png", "jpg", "jpeg"] as const;

/** `svg` rendered as a PNG or JPEG image. */
export async function renderSvg(
  svg: string,
  format: (typeof AVATAR_BITMAPS)[number],
): Promise<Uint8Array<ArrayBuffer>> {
  const image = sharp(Buffer.from(svg));
  return new Uint8Array(await (format === "png" ? image.png() : image.jpeg()).toBuffer());
}
