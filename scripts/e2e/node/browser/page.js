// In-page driver for the browser suites. Exposes `window.rc`, whose methods
// the Node test calls through `page.evaluate`; every method resolves to plain
// JSON (never throws), so a failure comes back to the test as data it can
// assert on and print.
//
// It also records, without tokens, every WebSocket URL and fetch URL the SDK
// opens, so a test can tell /rtc from /rtc/v1 and see validate calls.
(() => {
  'use strict';
  const LK = window.LivekitClient;
  const { Room, RoomEvent, ConnectionError, ConnectionErrorReason } = LK;

  LK.setLogLevel('debug');

  const now = () => Math.round(performance.now());
  const events = [];
  const sockets = [];
  const fetches = [];

  /** URL without secrets: path + query param names (token value dropped). */
  function scrub(raw) {
    try {
      const u = new URL(String(raw), location.href);
      const params = [...u.searchParams.keys()].join(',');
      return { origin: u.origin, path: u.pathname, params };
    } catch {
      return { origin: '', path: String(raw).slice(0, 120), params: '' };
    }
  }

  // Record sockets and their fates. livekit-client looks up the global
  // WebSocket at connect time, so replacing it here is enough.
  const NativeWebSocket = window.WebSocket;
  class RecordingWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      const rec = { ...scrub(url), t: now(), opened: false, closeCode: null };
      sockets.push(rec);
      this.addEventListener('open', () => {
        rec.opened = true;
      });
      this.addEventListener('close', (ev) => {
        rec.closeCode = ev.code;
      });
    }
  }
  window.WebSocket = RecordingWebSocket;

  const nativeFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const rec = { ...scrub(typeof input === 'string' ? input : input.url), t: now(), status: null, error: null };
    fetches.push(rec);
    try {
      const resp = await nativeFetch(input, init);
      rec.status = resp.status;
      return resp;
    } catch (e) {
      rec.error = String(e);
      throw e;
    }
  };

  let room = null;

  function pcStates() {
    const pcm = room?.engine?.pcManager;
    if (!pcm) return { mode: null, publisher: null, subscriber: null };
    return {
      mode: pcm.mode ?? null,
      publisher: pcm.publisher?.getConnectionState?.() ?? null,
      subscriber: pcm.subscriber?.getConnectionState?.() ?? null,
    };
  }

  // readyState of the SDK's data channels (kinds 0 reliable, 1 lossy, 2
  // data-track; `sub` = the server-created ones on the subscriber PC).
  // Recorded for diagnostics only.
  function dataChannelStates() {
    const engine = room?.engine;
    if (!engine?.dataChannelForKind) return {};
    const out = {};
    for (const [name, kind, sub] of [
      ['pubReliable', 0, false],
      ['pubLossy', 1, false],
      ['subReliable', 0, true],
      ['subLossy', 1, true],
    ]) {
      try {
        out[name] = engine.dataChannelForKind(kind, sub)?.readyState ?? null;
      } catch {
        out[name] = 'error';
      }
    }
    return out;
  }

  function snapshot() {
    return {
      state: room?.state ?? null,
      localIdentity: room?.localParticipant?.identity ?? null,
      localSid: room?.localParticipant?.sid ?? null,
      roomName: room?.name ?? null,
      serverVersion: room?.serverInfo?.version ?? null,
      remotes: room ? [...room.remoteParticipants.keys()].sort() : [],
      // ParticipantInfo.state === ACTIVE, as the server last reported it.
      localActive: room?.localParticipant?.isActive ?? null,
      remoteActive: room ? Object.fromEntries([...room.remoteParticipants].map(([id, p]) => [id, p.isActive])) : {},
      pc: pcStates(),
      dataChannels: dataChannelStates(),
      events: events.slice(),
      sockets: sockets.slice(),
      fetches: fetches.slice(),
    };
  }

  function describeError(e) {
    const isConn = e instanceof ConnectionError;
    const reason = isConn ? e.reason : null;
    return {
      name: e?.name ?? typeof e,
      message: String(e?.message ?? e),
      isConnectionError: isConn,
      reason,
      reasonName: reason === null || reason === undefined ? null : (ConnectionErrorReason[reason] ?? String(reason)),
      status: isConn ? (e.status ?? null) : null,
    };
  }

  function watch(r) {
    const push = (type, extra = {}) => events.push({ type, t: now(), ...extra });
    r.on(RoomEvent.SignalConnected, () => push('SignalConnected'));
    r.on(RoomEvent.Connected, () => push('Connected'));
    r.on(RoomEvent.ConnectionStateChanged, (s) => push('ConnectionStateChanged', { state: s }));
    r.on(RoomEvent.Disconnected, (reason) =>
      push('Disconnected', { reason: reason ?? null, reasonName: LK.DisconnectReason[reason] ?? null }),
    );
    r.on(RoomEvent.ParticipantConnected, (p) => push('ParticipantConnected', { identity: p.identity, sid: p.sid }));
    r.on(RoomEvent.ParticipantDisconnected, (p) =>
      push('ParticipantDisconnected', { identity: p.identity, sid: p.sid }),
    );
  }

  function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  window.rc = {
    /**
     * Creates a Room with `roomOptions` (e.g. { singlePeerConnection }) and
     * connects it. Resolves to { ok, ms, error?, ...snapshot }.
     */
    async connect(url, token, roomOptions = {}, connectOptions = {}, timeoutMs = 40_000) {
      room = new Room(roomOptions);
      watch(room);
      const started = now();
      try {
        await withTimeout(room.connect(url, token, connectOptions), timeoutMs, 'room.connect');
        return { ok: true, ms: now() - started, error: null, ...snapshot() };
      } catch (e) {
        const error = describeError(e);
        // Abort whatever is still under way so nothing lingers.
        await withTimeout(room.disconnect(), 5_000, 'room.disconnect').catch(() => {});
        return { ok: false, ms: now() - started, error, ...snapshot() };
      }
    },

    /** Waits for a recorded room event of `type` (and `identity`, if given). */
    async waitForEvent(type, identity = null, timeoutMs = 15_000) {
      const match = (ev) => ev.type === type && (identity === null || ev.identity === identity);
      const deadline = now() + timeoutMs;
      while (now() < deadline) {
        const ev = events.find(match);
        if (ev) return { ok: true, event: ev, ...snapshot() };
        await new Promise((r) => setTimeout(r, 50));
      }
      return { ok: false, event: null, ...snapshot() };
    },

    /**
     * Waits until the server reports `identity` (null: the local participant)
     * as ACTIVE, i.e. its primary transport connected (LIVEKIT_PROTOCOL.md 2.12).
     */
    async waitForActive(identity = null, timeoutMs = 10_000) {
      const who = () => (identity === null ? room?.localParticipant : room?.remoteParticipants.get(identity));
      const deadline = now() + timeoutMs;
      while (now() < deadline) {
        if (who()?.isActive) return { ok: true, ...snapshot() };
        await new Promise((r) => setTimeout(r, 50));
      }
      return { ok: false, ...snapshot() };
    },

    /** Leaves the room; resolves to the snapshot afterwards. */
    async disconnect(timeoutMs = 10_000) {
      try {
        if (room) await withTimeout(room.disconnect(), timeoutMs, 'room.disconnect');
        return { ok: true, error: null, ...snapshot() };
      } catch (e) {
        return { ok: false, error: describeError(e), ...snapshot() };
      }
    },

    snapshot,

    /** The live Room (for media.js). */
    room: () => room,
  };
})();
