// Reference: the same messages through Nodemailer's pooled SMTP transport.
// usage: node nodemailer_send.mjs <port> <connections> <messages> <body-file>
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";

const [port, connections, count, bodyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile, "utf8");
const transport = nodemailer.createTransport({
  host: "127.0.0.1",
  port: Number(port),
  secure: false,
  ignoreTLS: true,
  pool: true,
  maxConnections: Number(connections),
  maxMessages: Infinity,
});
const started = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const jobs = [];
for (let i = 0; i < Number(count); i++) {
  const account = i % Number(connections);
  jobs.push(
    transport.sendMail({
      from: { name: "Ana Pérez", address: `sender${account}@example.com` },
      to: `recipient${i}@example.com`,
      subject: "Una pregunta rápida",
      text: body,
    }),
  );
}
await Promise.all(jobs);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpu0);
transport.close();
console.log(JSON.stringify({ seconds, cpu: (cpu.user + cpu.system) / 1e6 }));
