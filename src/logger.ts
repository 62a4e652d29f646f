import { destination as fdDestination, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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
  return pino(options, destination ?? fdDestination(1));
}
