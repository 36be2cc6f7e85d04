// Harness for the Node end-to-end suites (node --test).
//
// startServer({ args, env, dev }) launches `$RINGCAST_BIN [--dev] --port P
// --udp-port U ...args` on free ports (default binary:
// <repo>/target/release/ringcast), waits until `GET /` answers `OK` (15 s),
// and returns { url, wsUrl, port, udpPort, logPath, stop() }. Output goes to
// .e2e-logs/node-<name>.log. Every server started is stopped when the test
// process exits, even if a test forgets to.

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const LOG_DIR = process.env.RINGCAST_E2E_LOGS || join(REPO, '.e2e-logs');
export const DEV_KEY = 'devkey';
export const DEV_SECRET = 'secret';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

// Variables the server reads; scrubbed so a developer's shell cannot leak in.
const SERVER_ENV_VARS = ['LIVEKIT_KEYS', 'LIVEKIT_CONFIG', 'LIVEKIT_CONFIG_FILE', 'NODE_IP', 'UDP_PORT', 'REDIS_HOST'];

export function ringcastBin() {
  const configured = process.env.RINGCAST_BIN;
  if (!configured) return join(REPO, 'target', 'release', 'ringcast');
  return isAbsolute(configured) ? configured : join(REPO, configured);
}

export function freeTcpPort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

export function freeUdpPort() {
  return new Promise((ok, fail) => {
    const sock = createSocket('udp4');
    sock.once('error', fail);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tail(path, lines = 40) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '<no log>';
  }
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

let counter = 0;

/**
 * Starts ringcast and waits until it serves HTTP.
 * @param {{args?: string[], env?: Record<string,string>, dev?: boolean, name?: string, port?: number, udpPort?: number, waitReady?: boolean}} opts
 */
export async function startServer(opts = {}) {
  const { args = [], env = {}, dev = true, waitReady = true } = opts;
  const name = (opts.name || 'server').replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 120);
  // Fixed ports let a control plane attach to a `ringcast dataplane` process.
  const port = opts.port ?? (await freeTcpPort());
  const udpPort = opts.udpPort ?? (await freeUdpPort());
  const cmd = [ringcastBin()];
  if (dev) cmd.push('--dev');
  cmd.push('--port', String(port), '--udp-port', String(udpPort), ...args.map(String));

  mkdirSync(LOG_DIR, { recursive: true });
  counter += 1;
  const logPath = join(LOG_DIR, `node-${name}-${process.pid}-${counter}.log`);
  const log = createWriteStream(logPath);
  log.write(`$ ${cmd.join(' ')}\n`);

  const childEnv = { ...process.env };
  for (const k of SERVER_ENV_VARS) delete childEnv[k];
  Object.assign(childEnv, { RUST_BACKTRACE: '1' }, env);

  const child = spawn(cmd[0], cmd.slice(1), { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exitCode = null;
  let spawnError = null;
  const exited = new Promise((r) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal;
      running.delete(child);
      r();
    });
    child.once('error', (e) => {
      spawnError = e;
      running.delete(child);
      r();
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const server = {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    udpPort,
    logPath,
    log: () => readFileSync(logPath, 'utf8'),
    alive: () => exitCode === null && !spawnError,
    /** Kills the process outright (a crash), and waits for it to go. */
    async kill() {
      if (exitCode === null && !spawnError) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (exitCode === null && !spawnError) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };

  if (!waitReady) return server;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`cannot start ${cmd[0]}: ${spawnError.message} (set RINGCAST_BIN)`);
    if (exitCode !== null) {
      await sleep(50);
      throw new Error(`ringcast exited with ${exitCode} before it was ready; log ${logPath}:\n${tail(logPath)}`);
    }
    try {
      const resp = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      const body = await resp.text();
      if (resp.status === 200 && body.trim() === 'OK') return server;
      last = `${resp.status} ${JSON.stringify(body.slice(0, 80))}`;
    } catch (e) {
      last = String(e?.cause?.code || e);
    }
    await sleep(50);
  }
  await server.stop();
  throw new Error(`ringcast not ready after ${READY_TIMEOUT_MS} ms (last: ${last}); log ${logPath}:\n${tail(logPath)}`);
}
