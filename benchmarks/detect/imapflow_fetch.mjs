// Reference fetch for P2: the same header fields for every message, then the first N bytes of
// the same messages FluenzR fetched whole. Prints one JSON line with timings.
// usage: node imapflow_fetch.mjs <config.json>
import { ImapFlow } from 'imapflow';
import { readFileSync } from 'node:fs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = new ImapFlow({
  host: cfg.host, port: cfg.port, secure: true,
  tls: { ca: [readFileSync(cfg.ca)] },
  auth: { user: cfg.user, pass: cfg.pass },
  logger: false,
});
await client.connect();
const lock = await client.mailboxOpen('INBOX', { readOnly: true });
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
let headers = 0;
for await (const msg of client.fetch('1:*', { uid: true, headers: cfg.fields }, { uid: true })) {
  if (msg.headers) headers += 1;
}
let bodies = 0;
if (cfg.bodies.length) {
  const range = cfg.bodies.join(',');
  for await (const msg of client.fetch(range, { uid: true, source: { start: 0, maxLength: cfg.limit } }, { uid: true })) {
    if (msg.source) bodies += 1;
  }
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
await client.logout();
console.log(JSON.stringify({ headers, bodies, seconds, cpu: (cpu.user + cpu.system) / 1e6,
  rss: process.memoryUsage().rss }));
