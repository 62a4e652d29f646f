// A worker thread that posts the size its young generation reaches (test/helpers/thread-heap-process.ts).
import { parentPort } from 'node:worker_threads';
import { youngGenerationReached } from './young-generation.js';

parentPort!.postMessage(youngGenerationReached());
