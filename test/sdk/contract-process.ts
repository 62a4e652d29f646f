/**
 * Running an SDK contract program written in another language (python/contract.py, go/contract.go): it drives
 * hookd through its SDK, reads what the receiver got through a small control server (to verify deliveries with
 * its SDK's own Webhook class) and prints a JSON report as its last line, one entry per scenario.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Receiver } from '../helpers/receiver.js';
import { headersOf } from './shared.js';

export interface Scenario {
  name: string;
  ok: boolean;
  error?: string;
  trace?: string;
}

export interface Report {
  sdk: string;
  scenarios: Scenario[];
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * The program's view of the receiver: GET /requests lists what it received (headers flattened, as the Webhook
 * classes take them), PUT /failing sets the paths that answer 500 (see failOn).
 */
export async function startControl(receiver: Receiver, failing: Set<string>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (request, response) => {
    if (request.method === 'PUT' && request.url === '/failing') {
      const paths = JSON.parse(await readBody(request)) as string[];
      failing.clear();
      for (const path of paths) failing.add(path);
      response.writeHead(204).end();
      return;
    }
    if (request.method === 'GET' && request.url === '/requests') {
      const requests = receiver.requests.map((r) => ({ path: r.path, headers: headersOf(r), body: r.body, at: r.at }));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(requests));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Runs a contract program to its end and parses its report (its last stdout line). */
export function runContract(command: string, args: string[], env: Record<string, string>): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${stdout}\n${stderr}`));
      resolve(JSON.parse(last) as Report);
    });
  });
}
