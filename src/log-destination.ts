import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { DestinationStream } from 'pino';
import sonicBoom from 'sonic-boom';

// Where `orchard serve` writes its log lines by default: stdout, asynchronously, through a buffer of
// bounded size. A log reader that is slow or gone (a full pipe, a stalled log shipper, `docker logs`
// behind) must never grow Orchard's memory, nor hold it up: past `maxBufferBytes` of unwritten lines,
// further lines are dropped and counted until the reader catches up.
//
// Measured before: pino's stdout stream buffers without a cap (the heap grew by hundreds of megabytes
// under a flood of refused requests), and a blocking write to a full pipe pinned a worker thread, so
// that the process could not even exit. So a pipe or a socket (what a container's or a supervisor's
// stdout is) is written as a non-blocking stream whose queue is bounded here; a file or a terminal,
// which never stays blocked, through sonic-boom with the same bound.

export interface LogDestination {
  readonly stream: DestinationStream;
  /** Lines dropped so far because the buffer was full (or the reader had gone). */
  readonly dropped: () => number;
  /** Called with the number of lines dropped, each time lines are dropped. */
  onDrop(listener: (lines: number) => void): void;
  /** Writes what is buffered, giving up after `timeoutMs` when the reader does not take it. */
  close(timeoutMs: number): Promise<void>;
}

/** Default bound of unwritten log lines: seconds of a busy Orchard's lines, far below its memory. */
export const defaultLogBufferBytes = 8 * 1024 * 1024;

interface Writer {
  /** Queues a line; false when it was dropped. */
  write(line: string): boolean;
  close(timeoutMs: number): Promise<void>;
}

/** A pipe or socket, written without ever blocking: libuv queues what the reader has not taken yet. */
function streamWriter(fd: number, maxBufferBytes: number): Writer {
  const socket = new Socket({ fd, readable: false, writable: true });
  // It never keeps the process alive by itself: close() is what waits for the last lines.
  socket.unref();
  let broken = false;
  // EPIPE and the like: the reader is gone; what follows is dropped.
  socket.on('error', () => (broken = true));
  return {
    write(line) {
      if (broken || socket.destroyed || socket.writableLength + line.length > maxBufferBytes) return false;
      socket.write(line);
      return true;
    },
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.destroy();
          resolve();
        }, timeoutMs);
        timer.unref();
        socket.end(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/** A file, a terminal or /dev/null: sonic-boom writes them asynchronously, up to the same bound. */
function fileWriter(fd: number, maxBufferBytes: number): Writer {
  const sonic = new sonicBoom.SonicBoom({ fd, sync: false, minLength: 0, maxLength: maxBufferBytes });
  let dropped = false;
  sonic.on('drop', () => (dropped = true));
  sonic.on('error', () => {});
  return {
    write(line) {
      dropped = false;
      sonic.write(line);
      return !dropped;
    },
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          sonic.destroy();
          resolve();
        }, timeoutMs);
        timer.unref();
        sonic.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        sonic.end();
      }),
  };
}

/** A bounded asynchronous destination on a file descriptor (stdout by default). */
export function boundedLogDestination(options: { readonly fd?: number; readonly maxBufferBytes?: number } = {}): LogDestination {
  const fd = options.fd ?? 1;
  const maxBufferBytes = options.maxBufferBytes ?? defaultLogBufferBytes;
  const kind = fstatSync(fd);
  const writer = kind.isFIFO() || kind.isSocket() ? streamWriter(fd, maxBufferBytes) : fileWriter(fd, maxBufferBytes);
  let dropped = 0;
  let closed = false;
  const listeners: ((lines: number) => void)[] = [];
  // A dropped write is one line: pino writes each line whole. A line logged after close (a late
  // callback) is dropped too, rather than thrown at its caller.
  const stream: DestinationStream = {
    write(line: string) {
      if (!closed && writer.write(line)) return;
      dropped += 1;
      for (const listener of listeners) listener(1);
    },
  };
  return {
    stream,
    dropped: () => dropped,
    onDrop: (listener) => listeners.push(listener),
    close: (timeoutMs) => {
      if (closed) return Promise.resolve();
      closed = true;
      return writer.close(timeoutMs);
    },
  };
}
