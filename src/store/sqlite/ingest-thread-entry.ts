// The ingest thread (see ingest-thread.ts): commits the group committer's batches on a connection of its own.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteDb } from './db.js';
import { threadErrorOf, type FromIngestThread, type IngestThreadData, type ToIngestThread } from './ingest-thread.js';
import { insertMessagesNow } from './messages.js';
import { adoptWriteLocks } from './write-lock.js';

const port = parentPort!;
const data = workerData as IngestThreadData;
adoptWriteLocks(data.writeLocks);
// The main thread migrated the file; this connection inserts, and checkpoints between commits.
const db = new SqliteDb({ path: data.path, timeoutMs: data.timeoutMs, maxSizeBytes: data.maxSizeBytes, checkpoint: false });
const post = (message: FromIngestThread): void => port.postMessage(message);
const checkpoints =
  data.checkpointEveryMs === null
    ? null
    : setInterval(() => {
        try {
          db.checkpoint();
        } catch {
          // Busy or locked now: the next tick tries again, and the writer's automatic backstop still bounds the WAL.
        }
      }, data.checkpointEveryMs);

port.on('message', (message: ToIngestThread) => {
  if (message.type === 'close') {
    if (checkpoints) clearInterval(checkpoints);
    void db.close().then(() => port.close());
    return;
  }
  try {
    post({ type: 'inserted', id: message.id, results: db.transaction(() => insertMessagesNow(db, message.messages)) });
  } catch (error) {
    post({ type: 'failed', id: message.id, error: threadErrorOf(error) });
  }
});
