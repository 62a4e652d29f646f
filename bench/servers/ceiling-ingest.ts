/**
 * The ingest ceiling: the least an HTTP server can do per webhook POST. Plain node:http on 127.0.0.1 that reads
 * the whole body and answers 202 with a small JSON body; nothing is parsed or stored.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const reply = '{"id":"msg_ceiling"}';
const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': String(reply.length) });
    res.end(reply);
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', ports: [(server.address() as AddressInfo).port] }));
process.on('disconnect', () => process.exit(0));
