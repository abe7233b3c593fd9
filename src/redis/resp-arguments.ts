// A command's arguments written straight into one buffer in the Redis protocol (RESP bulk strings),
// for the calls that carry a whole page: 10,000 records are 140,000 arguments. ioredis copies such an
// argument list twice (a spread and `flat()`) and builds the request as one long string, which cost
// more CPU than everything else a pulled event goes through but JSON.parse; writing the bytes once
// here costs a fraction of that. The buffer keeps room in front for the command's header, which is
// written last, when the number of arguments is known (lua-script.ts `runEncoded`).

export type RespArgument = string | Buffer | number;

/** Room kept in front of the arguments: `*<count>\r\n`, the command name and one more argument (a SHA). */
const headroom = 128;

const crlf = 0x0a0d; // "\r\n" as a little-endian uint16

/** Buffer's own UTF-8 writer, without `write`'s argument juggling (a measurable share of a page's encoding). */
interface Utf8Writer {
  utf8Write(text: string, offset: number): number;
}

export class RespArguments {
  #buf: Buffer;
  #end = headroom;
  #count = 0;

  /** `sizeHint`: the bytes the arguments are expected to take (the buffer grows when they take more). */
  constructor(sizeHint = 4096) {
    this.#buf = Buffer.allocUnsafe(headroom + Math.max(64, Math.ceil(sizeHint)));
  }

  get count(): number {
    return this.#count;
  }

  push(arg: RespArgument): this {
    if (typeof arg === 'string') {
      // Most strings are ASCII, where the byte length is the UTF-16 length: the header is written with
      // that guess and the text after it, in one pass. When the text took more bytes, both are written
      // again with the exact length. That needs room for 3 bytes per UTF-16 unit; where the buffer is
      // tighter than that (its end), the exact length is taken first instead, so it grows only when
      // the arguments do not fit.
      const start = this.#end;
      if (this.#buf.length - start >= arg.length * 3 + 16) {
        this.#header(arg.length);
        const written = this.#writeUtf8(arg);
        if (written !== arg.length) {
          this.#end = start;
          this.#header(written);
          this.#writeUtf8(arg);
        }
      } else {
        const length = Buffer.byteLength(arg, 'utf8');
        this.#reserve(length + 16);
        this.#header(length);
        this.#writeUtf8(arg);
      }
    } else if (typeof arg === 'number') {
      return this.push(String(arg));
    } else {
      this.#reserve(arg.length + 16);
      this.#header(arg.length);
      this.#end += arg.copy(this.#buf, this.#end);
    }
    this.#buf.writeUInt16LE(crlf, this.#end);
    this.#end += 2;
    this.#count += 1;
    return this;
  }

  /**
   * The whole request: `*<n>\r\n`, then `leading` (each a bulk string, written in front of the
   * arguments: the command name and the SHA), then the arguments. Can be called again with other
   * leading arguments (a resend under another SHA) as long as no argument is pushed in between.
   */
  request(leading: readonly string[]): Buffer {
    const parts = [`*${leading.length + this.#count}\r\n`, ...leading.map((s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`)].join('');
    const size = Buffer.byteLength(parts);
    if (size > headroom) throw new RangeError(`RespArguments: a request header of ${size} bytes does not fit in ${headroom}`);
    const start = headroom - size;
    this.#buf.write(parts, start, 'utf8');
    return this.#buf.subarray(start, this.#end);
  }

  /** Writes `text` at the end (the room is there) and moves the end past it; returns the bytes written. */
  #writeUtf8(text: string): number {
    const written = (this.#buf as unknown as Utf8Writer).utf8Write(text, this.#end);
    this.#end += written;
    return written;
  }

  /** `$<length>\r\n` */
  #header(length: number): void {
    const buf = this.#buf;
    buf[this.#end++] = 0x24; // $
    // The decimal digits, written backwards from the end of their room.
    let digits = 1;
    for (let n = length; n >= 10; n = Math.floor(n / 10)) digits++;
    for (let i = this.#end + digits - 1, n = length; i >= this.#end; i--, n = Math.floor(n / 10)) buf[i] = 0x30 + (n % 10);
    this.#end += digits;
    buf.writeUInt16LE(crlf, this.#end);
    this.#end += 2;
  }

  #reserve(bytes: number): void {
    if (this.#end + bytes <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#end + bytes));
    this.#buf.copy(grown, 0, 0, this.#end);
    this.#buf = grown;
  }
}
