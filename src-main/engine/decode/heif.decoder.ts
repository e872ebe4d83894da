/**
 * Decodes the primary image of a HEIC/HEIF file with libheif compiled to WebAssembly (the
 * libheif-js build that heic-decode ships), because sharp's libvips has no HEVC decoder.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

/** An error libheif reported, with its own message. */
export class HeifDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeifDecodeError';
  }
}

/** The primary image of an opened HEIF file; call `close` when done, decoded or not. */
export interface HeifPrimary {
  /** Size after the file's own transforms (clean aperture, irot, imir). */
  width: number;
  height: number;
  hasAlpha: boolean;
  premultipliedAlpha: boolean;
  /** Decodes to interleaved RGBA (4 bytes a pixel, rows packed); rejects with HeifDecodeError. */
  decodeRgba(): Promise<DecodedRgba>;
  close(): void;
}

/** Packed RGBA pixels as libheif returned them. */
export interface DecodedRgba {
  data: Buffer;
  width: number;
  height: number;
}

/** The parts of the libheif-js embind API used here. */
interface LibHeifEnum {
  value: number;
}
interface LibHeifError {
  code: LibHeifEnum;
  message: string;
}
interface LibHeifChannel {
  id: LibHeifEnum;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}
interface LibHeifDecoded {
  code?: LibHeifEnum;
  message?: string;
  image: unknown;
  channels: LibHeifChannel[];
}
interface LibHeif {
  ready?: Promise<unknown>;
  heif_error_code: { heif_error_Ok: LibHeifEnum };
  heif_colorspace: { heif_colorspace_RGB: LibHeifEnum };
  heif_chroma: { heif_chroma_interleaved_RGBA: LibHeifEnum };
  heif_channel: { heif_channel_interleaved: LibHeifEnum };
  heif_context_alloc(): unknown;
  heif_context_free(ctx: unknown): void;
  heif_context_read_from_memory(ctx: unknown, data: Uint8Array): LibHeifError;
  heif_js_context_get_primary_image_handle(ctx: unknown): unknown;
  heif_image_handle_get_width(handle: unknown): number;
  heif_image_handle_get_height(handle: unknown): number;
  heif_image_handle_has_alpha_channel(handle: unknown): number;
  heif_image_handle_is_premultiplied_alpha(handle: unknown): number;
  heif_image_handle_release(handle: unknown): void;
  heif_js_decode_image2(
    handle: unknown,
    colorspace: LibHeifEnum,
    chroma: LibHeifEnum,
  ): Promise<LibHeifDecoded | LibHeifError | null>;
  heif_image_release(image: unknown): void;
}

let libheifPromise: Promise<LibHeif> | null = null;

/**
 * Loads a libheif-js instance, from heic-decode's own dependency so that the version heic-decode
 * was tested with is the one used. heic-decode's `decode()` itself is not called: it decodes the
 * first top-level image, which the HEIF format does not require to be the primary one, and it
 * hides the alpha flags. (Like libheif underneath it, it does apply clap, irot and imir.)
 */
function loadLibheif(): Promise<LibHeif> {
  libheifPromise ??= (async () => {
    const load = createRequire(__filename);
    const heicDecodeDir = path.dirname(load.resolve('heic-decode/package.json'));
    const entry = load.resolve('libheif-js/libheif-wasm/libheif-bundle.js', {
      paths: [heicDecodeDir],
    });
    const factory = load(entry) as () => LibHeif;
    const lib = factory();
    await lib.ready;
    return lib;
  })();
  return libheifPromise;
}

/**
 * After WebAssembly aborts (a trap inside libheif on hostile data) its memory may be left
 * inconsistent: the next file gets a fresh instance instead.
 */
function discardIfAborted(err: unknown): void {
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : String(err);
  // WebAssembly.RuntimeError (traps) and Emscripten's abort() messages.
  if (name === 'RuntimeError' || /abort|unreachable|out of bounds/i.test(message)) {
    libheifPromise = null;
  }
}

function isError(value: unknown, lib: LibHeif): value is LibHeifError {
  const code = (value as { code?: unknown } | null)?.code;
  return code !== undefined && code !== lib.heif_error_code.heif_error_Ok;
}

/**
 * Opens `buf` and reads its primary image's header. Rejects with HeifDecodeError when libheif
 * cannot parse the file or finds no primary image.
 */
export async function openHeifPrimary(buf: Buffer): Promise<HeifPrimary> {
  const lib = await loadLibheif();
  const ctx = lib.heif_context_alloc();
  if (!ctx) throw new HeifDecodeError('libheif could not allocate a context');
  let handle: unknown = null;
  const close = (): void => {
    if (handle) lib.heif_image_handle_release(handle);
    lib.heif_context_free(ctx);
    handle = null;
  };
  try {
    const read = lib.heif_context_read_from_memory(ctx, buf);
    if (isError(read, lib)) throw new HeifDecodeError(read.message);
    const primary = lib.heif_js_context_get_primary_image_handle(ctx);
    if (!primary || isError(primary, lib)) {
      throw new HeifDecodeError((primary as LibHeifError | null)?.message || 'no primary image');
    }
    handle = primary;
  } catch (err) {
    close();
    discardIfAborted(err);
    throw err instanceof HeifDecodeError ? err : new HeifDecodeError(String(err));
  }
  return {
    width: lib.heif_image_handle_get_width(handle),
    height: lib.heif_image_handle_get_height(handle),
    hasAlpha: lib.heif_image_handle_has_alpha_channel(handle) !== 0,
    premultipliedAlpha: lib.heif_image_handle_is_premultiplied_alpha(handle) !== 0,
    decodeRgba: () => decodeRgba(lib, handle),
    close,
  };
}

/** Decodes with libheif's default options, which apply clap, irot and imir. */
async function decodeRgba(lib: LibHeif, handle: unknown): Promise<DecodedRgba> {
  if (!handle) throw new HeifDecodeError('the HEIF file was already closed');
  let decoded: LibHeifDecoded | LibHeifError | null;
  try {
    decoded = await lib.heif_js_decode_image2(
      handle,
      lib.heif_colorspace.heif_colorspace_RGB,
      lib.heif_chroma.heif_chroma_interleaved_RGBA,
    );
  } catch (err) {
    discardIfAborted(err);
    throw new HeifDecodeError(`libheif stopped: ${(err as Error).message}`);
  }
  if (!decoded || isError(decoded, lib) || !('channels' in decoded)) {
    throw new HeifDecodeError((decoded as LibHeifError | null)?.message || 'decoding failed');
  }
  try {
    const plane = decoded.channels.find((c) => c.id === lib.heif_channel.heif_channel_interleaved);
    if (!plane) throw new HeifDecodeError('libheif returned no interleaved RGBA plane');
    // The plane views WebAssembly memory that the release below frees: copy it row by row.
    const rowBytes = plane.width * 4;
    const out = Buffer.allocUnsafe(rowBytes * plane.height);
    for (let y = 0; y < plane.height; y++) {
      const from = y * plane.stride;
      out.set(plane.data.subarray(from, from + rowBytes), y * rowBytes);
    }
    return { data: out, width: plane.width, height: plane.height };
  } finally {
    lib.heif_image_release(decoded.image);
  }
}
