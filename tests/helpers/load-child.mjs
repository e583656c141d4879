// A load generator in its own process, so the process that probes /health measures the server, not its own
// busy event loop. argv[2] is JSON: { url, seconds, clients, requests: [{ path, type, file, accept? }] }; each client
// sends the requests round-robin (bodies read from the files) until the time is up, then this prints one JSON
// line: { sent, statuses: { "200": n, ... } }.
import { readFileSync } from 'node:fs';

const { url, seconds, clients, requests } = JSON.parse(process.argv[2]);
const bodies = requests.map((r) => ({ ...r, body: readFileSync(r.file) }));
const statuses = {};
let sent = 0;
const deadline = performance.now() + seconds * 1000;
async function client(c) {
  for (let i = c; performance.now() < deadline; i++) {
    const r = bodies[i % bodies.length];
    sent++;
    let status;
    try {
      const res = await fetch(`${url}${r.path}`, { method: 'POST', headers: { 'content-type': r.type, accept: r.accept ?? 'application/json' }, body: r.body, signal: AbortSignal.timeout(120_000) });
      await res.arrayBuffer();
      status = String(res.status);
    } catch (err) {
      status = `error: ${err.cause?.code ?? err.name}`;
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
process.stdout.write(`${JSON.stringify({ sent, statuses })}\n`);
