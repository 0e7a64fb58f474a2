// The acknowledgement scenario of issue 36, with stock @automerge/automerge-repo clients:
// 20 clients on one run (1 writer, 19 readers), a write every 5 ms, 500 writes, repeated
// on a fresh relay each time. Reports, per repetition, how long the writer waited for the
// relay to acknowledge each write (the first sync message from the relay whose heads hold
// it) and how long each write took to reach each reader. Prints a table; not a test.
//
//   cargo build --release -p runmesh-relay
//   RUNMESH_RELAY_BIN=target/release/runmesh-relay node tests/interop/bench-acks.mjs
//
// RUNMESH_BENCH_REPEAT (10), RUNMESH_BENCH_WRITES (500), RUNMESH_BENCH_INTERVAL_MS (5).
// With RUNMESH_BENCH_SYNC_SERVER naming an installed @automerge/automerge-repo-sync-server
// package directory, each repetition also runs against it, interleaved (its writer makes
// the document, as its clients do). One clock: every client lives in this process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as A from '@automerge/automerge';
import { Repo } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import { startRelay } from './relay.mjs';

const CLIENTS = 20;
const REPEAT = Number(process.env.RUNMESH_BENCH_REPEAT ?? 10);
const WRITES = Number(process.env.RUNMESH_BENCH_WRITES ?? 500);
const INTERVAL_MS = Number(process.env.RUNMESH_BENCH_INTERVAL_MS ?? 5);
const SYNC_SERVER = process.env.RUNMESH_BENCH_SYNC_SERVER;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function relayCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function until(what, check, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** automerge-repo-sync-server on 127.0.0.1 with a fresh data directory. */
async function startSyncServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'sync-server-'));
  const port = await freePort();
  const child = spawn('node', [join(SYNC_SERVER, 'src', 'index.js')], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: dataDir,
  });
  await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => line.includes('Listening') && resolve());
    child.once('exit', (code) => reject(new Error(`sync server exited with ${code}`)));
  });
  return {
    pid: child.pid,
    ws: `ws://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh runmesh relay, and its run made over REST. */
async function runmesh() {
  const relay = await startRelay('bench', { args: ['--rate-limit-per-minute', '1000000'] });
  const res = await fetch(`${relay.http}/api/crdt/runs`, {
    method: 'POST',
    body: JSON.stringify({ title: 'Bench', steps: ['plan', 'build', 'ship'] }),
  });
  const { documentId } = await res.json();
  return { ...relay, made: documentId };
}

/** One repetition against `server`: the writer's acknowledgements and the readers' arrivals. */
async function once(server) {
  try {
    const repos = [];
    const handles = [];
    const writerAdapter = new WebSocketClientAdapter(server.ws, 100);
    const writerRepo = new Repo({ network: [writerAdapter], peerId: 'bench-0' });
    repos.push(writerRepo);
    let documentId = server.made;
    let first;
    if (documentId) {
      first = await writerRepo.find(`automerge:${documentId}`);
      await first.whenReady();
    } else {
      first = writerRepo.create({ grafts: { '00': {} } });
      documentId = first.documentId;
      // The server has it once it has answered the writer about it.
      await new Promise((resolve) =>
        writerAdapter.on('message', (msg) => msg.documentId === documentId && resolve()),
      );
    }
    handles.push(first);
    const url = `automerge:${documentId}`;
    for (let i = 1; i < CLIENTS; i++) {
      const repo = new Repo({ network: [new WebSocketClientAdapter(server.ws, 100)], peerId: `bench-${i}` });
      repos.push(repo);
      const handle = await repo.find(url);
      await handle.whenReady();
      handles.push(handle);
    }
    // The writer's writes, in order, and when the server acknowledged each.
    const writes = []; // { at, hash, ackedAt }
    let firstUnacked = 0;
    writerAdapter.on('message', (msg) => {
      if (msg.type !== 'sync' || msg.documentId !== documentId) return;
      const heads = new Set(A.decodeSyncMessage(msg.data).heads);
      const now = performance.now();
      let last = -1;
      for (let j = writes.length - 1; j >= firstUnacked; j--) {
        if (heads.has(writes[j].hash)) {
          last = j;
          break;
        }
      }
      for (; firstUnacked <= last; firstUnacked++) writes[firstUnacked].ackedAt = now;
    });
    const arrivals = [];
    let seen = 0;
    for (const handle of handles.slice(1)) {
      handle.on('change', ({ patches }) => {
        const now = performance.now();
        for (const p of patches) {
          if (p.action === 'put' && p.path.length === 3 && p.path[0] === 'grafts') {
            arrivals.push(now - JSON.parse(String(p.value)).at);
            seen += 1;
          }
        }
      });
    }
    const writer = handles[0];
    const relay0 = relayCpuMs(server.pid);
    for (let i = 0; i < WRITES; i++) {
      const at = performance.now();
      const record = JSON.stringify({ after: 'plan', agentName: `w-${i}`, by: 'u', region: 'bench', lamport: i + 1, at });
      writer.change((d) => {
        d.grafts['00'][`w-${i}`] = new A.ImmutableString(record);
      });
      writes.push({ at, hash: A.getHeads(writer.doc())[0], ackedAt: undefined });
      await sleep(INTERVAL_MS);
    }
    await until('every write to be acknowledged', () => firstUnacked >= writes.length);
    await until('every reader to hold every write', () => seen >= WRITES * (CLIENTS - 1));
    const relayMs = relayCpuMs(server.pid) - relay0;
    await Promise.all(repos.map((r) => r.shutdown()));
    const acks = writes.map((w) => w.ackedAt - w.at);
    return {
      ack50: percentile(acks, 50),
      ack99: percentile(acks, 99),
      fan50: percentile(arrivals, 50),
      fan99: percentile(arrivals, 99),
      relayMs,
    };
  } finally {
    await server.stop();
  }
}

const f = (x) => x.toFixed(1);
console.log(`${CLIENTS} stock clients (1 writer), a write every ${INTERVAL_MS} ms, ${WRITES} writes, ${REPEAT} repetitions`);
console.log('| # | server | ack p50 / p99 (ms) | fan-out p50 / p99 (ms) | server CPU (ms) |');
console.log('| --- | --- | --- | --- | --- |');
const sides = [['runmesh', runmesh]];
if (SYNC_SERVER) sides.push(['automerge-repo-sync-server', startSyncServer]);
for (let r = 1; r <= REPEAT; r++) {
  for (const [name, start] of sides) {
    const x = await once(await start());
    console.log(`| ${r} | ${name} | ${f(x.ack50)} / ${f(x.ack99)} | ${f(x.fan50)} / ${f(x.fan99)} | ${f(x.relayMs)} |`);
  }
}
process.exit(0);
