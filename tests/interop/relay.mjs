// Starts the real runmesh relay binary on 127.0.0.1:0 with a fresh data directory and
// resolves once it prints its address.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// `port` and `dataDir` let a test restart a relay where it was; `stop({keepData})` keeps the directory.
// `args` are extra relay flags (e.g. ['--web-dist', dir]). `capBytes` runs the relay under
// that address-space cap (`prlimit --as`), for tests whose input could make it allocate
// without bound: it then dies alone instead of taking the machine down.
export async function startRelay(region = 'interop', { port = 0, dataDir, args = [], capBytes } = {}) {
  const bin = process.env.RUNMESH_RELAY_BIN ?? join(root, 'target', 'debug', 'runmesh-relay');
  dataDir ??= mkdtempSync(join(tmpdir(), 'runmesh-interop-'));
  const relayArgs = ['--listen', `127.0.0.1:${port}`, '--region', region, '--data-dir', dataDir, ...args];
  const [command, commandArgs] = capBytes
    ? ['prlimit', [`--as=${capBytes}`, '--', bin, ...relayArgs]]
    : [bin, relayArgs];
  const child = spawn(command, commandArgs, {
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`relay exited with ${code} before listening`)));
  });
  const http = line.match(/http:\/\/[0-9.:]+/)?.[0];
  if (!http) throw new Error(`no address in relay output: ${line}`);
  return {
    pid: child.pid,
    http,
    ws: http.replace('http://', 'ws://') + '/ws',
    port: Number(new URL(http).port),
    dataDir,
    /** The process's exit code or signal once it has ended (a killed relay), else null. */
    ended() {
      return child.exitCode ?? child.signalCode;
    },
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
