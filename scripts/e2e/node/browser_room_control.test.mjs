// Room control seen by livekit-client 2.23 in headless Chromium, on /rtc/v1
// (single PC) and /rtc (dual PC): RoomService MutePublishedTrack (through
// livekit-server-sdk) mutes the publisher's microphone in its own SDK and for
// the subscriber, and both pages get ConnectionQualityUpdates (excellent on
// loopback) about themselves and the publisher they receive. A publisher's
// setTrackSubscriptionPermissions keeps a page it did not allow from
// subscribing (its SDK sees `not_allowed`) until it allows everyone.
//
// Run:  RINGCAST_BIN=target/debug/ringcast node --test scripts/e2e/node/browser_room_control.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RoomServiceClient } from 'livekit-server-sdk';
import { failureReport, joinToken, launchBrowser, openPage } from './browser/browser.mjs';
import { startStaticServer } from './browser/static_server.mjs';
import { DEV_KEY, DEV_SECRET, startServer } from './harness.mjs';

const MODES = [
  { name: '/rtc/v1 single PC', singlePeerConnection: true },
  { name: '/rtc dual PC', singlePeerConnection: false },
];

async function until(fn, ok, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    v = await fn();
  }
  return v;
}

// What a page knows about the microphone of `identity` (null: its own) and
// the connection qualities it was told.
function micState(identity) {
  const room = window.rc.room();
  const p = identity === null ? room?.localParticipant : room?.remoteParticipants.get(identity);
  const pub = p ? [...p.trackPublications.values()].find((x) => x.source === 'microphone') : null;
  return {
    sid: pub?.trackSid ?? null,
    muted: pub ? pub.isMuted : null,
    localQuality: room?.localParticipant?.connectionQuality ?? null,
    remoteQuality: Object.fromEntries([...(room?.remoteParticipants ?? new Map())].map(([id, r]) => [id, r.connectionQuality])),
  };
}

// What a page knows about `identity`'s microphone publication.
function permState(identity) {
  const p = window.rc.room()?.remoteParticipants.get(identity);
  const pub = p ? [...p.trackPublications.values()].find((x) => x.source === 'microphone') : null;
  return pub ? { sid: pub.trackSid, permission: pub.permissionStatus ?? null, subscribed: pub.isSubscribed } : null;
}

describe('room control with livekit-client 2.23 in headless Chromium', { timeout: 240_000 }, () => {
  let server;
  let site;
  let browser;
  let rooms;

  before(async () => {
    server = await startServer({ name: 'browser_room_control' });
    site = await startStaticServer();
    browser = await launchBrowser();
    rooms = new RoomServiceClient(server.url, DEV_KEY, DEV_SECRET);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await site?.close();
    await server?.stop();
  });

  for (const mode of MODES) {
    test(`RoomService mute reaches both SDKs; connection quality is reported (${mode.name})`, { timeout: 100_000 }, async (t) => {
      const room = `control-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
      const pages = [];
      const results = {};
      try {
        for (const who of ['ann', 'ben']) {
          const p = await openPage(browser, site.url, who);
          pages.push(p);
          const token = await joinToken(room, who);
          const r = await p.page.evaluate(
            ([url, tok, opts]) => window.rc.connect(url, tok, opts),
            [server.wsUrl, token, { singlePeerConnection: mode.singlePeerConnection }],
          );
          assert.equal(r.ok, true, `${who} connects: ${JSON.stringify(r.error)}`);
          await p.page.evaluate(() => window.rcMedia.autoAttach());
        }
        const [ann, ben] = pages;
        const pub = await ann.page.evaluate(() => window.rcMedia.publishCameraAndMic());
        assert.equal(pub.ok, true, `ann publishes: ${pub.error}`);

        results.benSees = await until(() => ben.page.evaluate(micState, 'ann'), (s) => s.sid !== null && s.muted === false, 20_000);
        assert.ok(results.benSees.sid, `ben sees ann's microphone: ${JSON.stringify(results.benSees)}`);

        // Connection quality: LiveKit's pace is one update every 5 s.
        results.quality = await until(
          () => ben.page.evaluate(micState, 'ann'),
          (s) => s.localQuality === 'excellent' && s.remoteQuality.ann === 'excellent',
          15_000,
        );
        assert.equal(results.quality.localQuality, 'excellent', JSON.stringify(results.quality));
        assert.equal(results.quality.remoteQuality.ann, 'excellent', JSON.stringify(results.quality));

        const info = await rooms.mutePublishedTrack(room, 'ann', results.benSees.sid, true);
        assert.equal(info.muted, true);
        results.annOwn = await until(() => ann.page.evaluate(micState, null), (s) => s.muted === true, 10_000);
        assert.equal(results.annOwn.muted, true, `ann's own SDK muted the microphone: ${JSON.stringify(results.annOwn)}`);
        results.benAfter = await until(() => ben.page.evaluate(micState, 'ann'), (s) => s.muted === true, 10_000);
        assert.equal(results.benAfter.muted, true, `ben sees it muted: ${JSON.stringify(results.benAfter)}`);
      } catch (e) {
        t.diagnostic(failureReport({ pages, server, results }));
        throw e;
      } finally {
        await Promise.allSettled(pages.map((p) => p.page.evaluate(() => window.rc.disconnect())));
        await Promise.allSettled(pages.map((p) => p.close()));
      }
    });

    test(`subscription permissions: only allowed pages subscribe (${mode.name})`, { timeout: 100_000 }, async (t) => {
      const room = `perm-${mode.singlePeerConnection ? 'v1' : 'v0'}`;
      const pages = [];
      const results = {};
      try {
        for (const who of ['ann', 'ben', 'cid']) {
          const p = await openPage(browser, site.url, who);
          pages.push(p);
          const token = await joinToken(room, who);
          const r = await p.page.evaluate(
            ([url, tok, opts]) => window.rc.connect(url, tok, opts),
            [server.wsUrl, token, { singlePeerConnection: mode.singlePeerConnection }],
          );
          assert.equal(r.ok, true, `${who} connects: ${JSON.stringify(r.error)}`);
        }
        const [ann, ben, cid] = pages;
        await ann.page.evaluate(() =>
          window.rc.room().localParticipant.setTrackSubscriptionPermissions(false, [
            { participantIdentity: 'ben', allowAll: true },
          ]),
        );
        const pub = await ann.page.evaluate(() => window.rcMedia.publishCameraAndMic());
        assert.equal(pub.ok, true, `ann publishes: ${pub.error}`);
        results.ben = await until(() => ben.page.evaluate(permState, 'ann'), (s) => s?.subscribed === true, 20_000);
        assert.equal(results.ben?.subscribed, true, `ben is allowed: ${JSON.stringify(results.ben)}`);
        results.cid = await until(() => cid.page.evaluate(permState, 'ann'), (s) => s?.permission === 'not_allowed', 10_000);
        assert.equal(results.cid?.permission, 'not_allowed', `cid is told: ${JSON.stringify(results.cid)}`);
        assert.equal(results.cid.subscribed, false);

        await ann.page.evaluate(() => window.rc.room().localParticipant.setTrackSubscriptionPermissions(true));
        results.cidAfter = await until(() => cid.page.evaluate(permState, 'ann'), (s) => s?.subscribed === true, 15_000);
        assert.equal(results.cidAfter?.subscribed, true, `cid subscribes once allowed: ${JSON.stringify(results.cidAfter)}`);
        assert.equal(results.cidAfter.permission, 'allowed');
      } catch (e) {
        t.diagnostic(failureReport({ pages, server, results }));
        throw e;
      } finally {
        await Promise.allSettled(pages.map((p) => p.page.evaluate(() => window.rc.disconnect())));
        await Promise.allSettled(pages.map((p) => p.close()));
      }
    });
  }
});
