// PNG helpers for the smoke test: read the size from IHDR, write a small input picture.
import { deflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height of a PNG file, or an Error saying why it is not one. */
export function pngSize(file: Buffer): { width: number; height: number } {
  if (file.length < 33 || !file.subarray(0, 8).equals(SIGNATURE)) {
    throw new Error(`not a PNG (${file.length} bytes)`);
  }
  if (file.toString("latin1", 12, 16) !== "IHDR") throw new Error("PNG without IHDR first");
  return { width: file.readUInt32BE(16), height: file.readUInt32BE(20) };
}

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}

function chunk(kind: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  const body = Buffer.concat([Buffer.from(kind, "latin1"), payload]);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, tail]);
}

/** A greyscale PNG, white inside `box` (x0, y0, x1, y1) and `background` elsewhere. */
export function greyPng(width: number, height: number, background: number, box: number[]): Buffer {
  const [x0, y0, x1, y1] = box;
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(width + 1); // filter byte 0, then one byte a pixel
    for (let x = 0; x < width; x++) {
      row[x + 1] = x >= x0 && x < x1 && y >= y0 && y < y1 ? 255 : background;
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
