import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import sonicBoom, { type SonicBoomOpts } from 'sonic-boom';

// A CommonJS module whose class is its module.exports; node's ESM loader finds no named exports in it.
const { SonicBoom } = sonicBoom as unknown as { SonicBoom: typeof import('sonic-boom').SonicBoom };

/** Most log bytes waiting for a slow reader of stdout; lines beyond it are dropped, not held. */
export const LOG_BUFFER_BYTES = 16 * 1024 * 1024;
/** A full pipe (EAGAIN) is retried this many times, 100 ms apart, by the last flush at exit (while running: always). */
const EXIT_FLUSH_RETRIES = 10;

/** JSON logs (on stdout unless `destination` is given). Tokens and secrets are redacted wherever they could appear. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions<never> = {
    level,
    base: { service: 'hookd' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.secret', '*.secrets', '*.key', 'token'],
      censor: '[redacted]',
    },
  };
  return pino(options, destination ?? stdoutDestination());
}

/**
 * Stdout for the logs, written asynchronously, so that a slow reader never stalls the event loop: at most
 * LOG_BUFFER_BYTES wait for it, and lines beyond that are dropped. A stdout that fails (EPIPE: the reader of the pipe
 * is gone, as after `| head` or a log shipper's crash) is given up: hookd goes on serving without logs rather than
 * die or hang. Until 2026-12 it used pino.destination(), whose last flush at exit (sonic-boom 4's flushSync) retried a
 * closed pipe every 100 ms for ever: hookd then ignored SIGTERM with its port open. The flush at exit here gives up on
 * an error at once and on a full pipe after about a second.
 */
function stdoutDestination(): DestinationStream {
  // While running, a full pipe (EAGAIN) is retried every 100 ms for as long as it stays full (sonic-boom's
  // maxWriteRetries 0), the lines meanwhile waiting up to maxLength; only an error that no wait mends gives it up.
  const stream = new SonicBoom({ fd: 1, sync: false, maxLength: LOG_BUFFER_BYTES, maxWriteRetries: 0 } as SonicBoomOpts);
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  // The CLI's own lines (the first start's token, usage) go to stderr and stdout through node's streams: one whose
  // reader is gone is an error event, which unhandled would end the process.
  for (const std of [process.stdout, process.stderr]) std.on('error', () => undefined);
  process.once('exit', () => {
    if (broken) return;
    (stream as unknown as { maxWriteRetries: number }).maxWriteRetries = EXIT_FLUSH_RETRIES;
    try {
      stream.flushSync();
    } catch {
      // A closed or stuck stdout: the last lines are lost, the exit is not held up.
    }
  });
  return { write: (line: string) => (broken ? undefined : stream.write(line)) };
}
