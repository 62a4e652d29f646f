/** Payload bytes of every message and delivery in the bench (the JSON text hookd stores and sends). */
export const PAYLOAD_BYTES = 1024;
export const EVENT_TYPE = 'bench.event';

/**
 * A compact JSON payload of exactly `bytes` bytes: `seq` and `t` (the scheduled send time, epoch ms) come first
 * so the receiver can read them with a regex, then padding. hookd re-serialises the payload with
 * JSON.stringify, which reproduces this text unchanged.
 */
export function payloadJson(seq: number, t: number, bytes = PAYLOAD_BYTES): string {
  const head = `{"seq":${seq},"t":${t},"pad":"`;
  const tail = '"}';
  const padding = Math.max(0, bytes - head.length - tail.length);
  return head + 'x'.repeat(padding) + tail;
}

/** The body of POST /api/v1/app/{app}/msg for that payload (also what the ceiling and naive servers get). */
export function messageBody(seq: number, t: number, bytes = PAYLOAD_BYTES): string {
  return `{"eventType":"${EVENT_TYPE}","payload":${payloadJson(seq, t, bytes)}}`;
}

const SEQ_AND_TIME = /^\{"seq":(\d+),"t":([0-9.]+)/;

/** Reads `seq` and `t` back from a payload (null when the body is not one of ours). */
export function readSeqAndTime(body: string): { seq: number; t: number } | null {
  const match = SEQ_AND_TIME.exec(body);
  return match ? { seq: Number(match[1]), t: Number(match[2]) } : null;
}
