// Reference for the fleet detection benchmark (and P3): one Node process holding N IDLE
// sessions with imapflow. Prints "ready <n>" once every session is in IDLE, then one line
// "exists <user> <epoch ms>" each time the server announces new mail in a user's INBOX.
// usage: node imapflow_idle.mjs <config.json>   ({host, port, ca, users: [{user, pass}]})
import { ImapFlow } from 'imapflow';
import { readFileSync } from 'node:fs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const ca = [readFileSync(cfg.ca)];
const clients = [];

async function open(entry) {
  const client = new ImapFlow({
    host: cfg.host, port: cfg.port, secure: true, tls: { ca },
    auth: { user: entry.user, pass: entry.pass }, logger: false,
    autoIdleDelay: 200, // IDLE as soon as the session is free (the default waits 15 s)
  });
  client.on('exists', () => process.stdout.write(`exists ${entry.user} ${Date.now()}\n`));
  client.on('error', () => {});
  await client.connect();
  await client.mailboxOpen('INBOX', { readOnly: true });
  clients.push(client);
}

const queue = [...cfg.users];
const workers = Array.from({ length: Math.min(cfg.concurrency || 20, queue.length) }, async () => {
  while (queue.length) await open(queue.shift());
});
await Promise.all(workers);
await new Promise((resolve) => setTimeout(resolve, 1500)); // every session in IDLE by now
process.stdout.write(`ready ${clients.length}\n`);
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
