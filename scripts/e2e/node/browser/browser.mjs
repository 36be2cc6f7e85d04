// Headless Chromium for the browser suites (playwright-core driving the
// system Chromium), plus the helpers every browser test needs: pages that
// keep their console output, access tokens, and a failure dump.

import { existsSync } from 'node:fs';
import { AccessToken } from 'livekit-server-sdk';
import { chromium } from 'playwright-core';
import { DEV_KEY, DEV_SECRET, tail } from '../harness.mjs';

/** Chromium binary: $CHROMIUM_BIN or /usr/bin/chromium (scripts/install-test-deps.sh installs it). */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

// Lines of page console kept per page (the SDK logs at debug level).
const CONSOLE_KEEP = 400;

/** Launches headless Chromium; the caller closes it (in an after hook or finally). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM_BIN)) {
    throw new Error(`no Chromium at ${CHROMIUM_BIN}: run scripts/install-test-deps.sh or set CHROMIUM_BIN`);
  }
  return chromium.launch({ executablePath: CHROMIUM_BIN, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Opens the test page (served by static_server.mjs at `pageUrl`) in a fresh
 * context, waits until `window.rc` exists, and returns { page, label, logs }
 * where `logs` collects the page's console and errors.
 */
export async function openPage(browser, pageUrl, label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const logs = [];
  const keep = (line) => {
    logs.push(line);
    if (logs.length > CONSOLE_KEEP) logs.splice(0, logs.length - CONSOLE_KEEP);
  };
  page.on('console', (msg) => keep(`[${label} ${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => keep(`[${label} pageerror] ${err.message}`));
  page.on('crash', () => keep(`[${label}] page crashed`));
  page.setDefaultTimeout(50_000);
  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.rc === 'object', null, { timeout: 10_000 });
  return { page, label, logs, close: () => context.close() };
}

/** A join token for the dev key pair. Pass `secret` to mint a bad one. */
export async function joinToken(room, identity, { secret = DEV_SECRET, key = DEV_KEY } = {}) {
  const at = new AccessToken(key, secret, { identity, ttl: '10m' });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  return at.toJwt();
}

/** Everything useful for a post-mortem: page consoles and the server log tail. */
export function failureReport({ pages = [], server, results = {} }) {
  const parts = [];
  for (const [name, value] of Object.entries(results)) {
    parts.push(`--- ${name}:\n${JSON.stringify(value, null, 1)}`);
  }
  for (const p of pages) {
    if (p) parts.push(`--- console of page ${p.label} (last ${p.logs.length} lines):\n${p.logs.join('\n')}`);
  }
  if (server) parts.push(`--- server log ${server.logPath} (tail):\n${tail(server.logPath, 80)}`);
  return parts.join('\n');
}
