import { pino, type Logger } from 'pino';

/** JSON logs on stdout. Tokens and secrets are redacted wherever they could appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'hookd' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.secret', '*.secrets', '*.key', 'token'],
      censor: '[redacted]',
    },
  });
}
