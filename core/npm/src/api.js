// The runmesh API over the wasm layer. Shared by the browser and Node entries, which
// differ only in how they instantiate the wasm module.

const RAW = Symbol('runmesh.raw');
const EMIT = Symbol('runmesh.emit');
/** The largest frame a client takes from a relay: core's MAX_CLIENT_FRAME_BYTES. */
const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Builds the public API on an instantiated wasm module. */
export function makeApi(wasm) {
  const { WasmRunDoc, WasmClient } = wasm;

  class RunDoc {
    #raw;
    #listeners = new Set();

    /** @internal Use RunDoc.create, RunDoc.load or RunDoc.empty. */
    constructor(raw) {
      if (!(raw instanceof WasmRunDoc)) {
        throw new TypeError('use RunDoc.create(), RunDoc.load() or RunDoc.empty()');
      }
      this.#raw = raw;
    }

    static create({ title = '', steps = [], region = 'local', user = 'anonymous', runId = '' } = {}) {
      if (!Array.isArray(steps)) throw new TypeError('steps must be an array');
      return new RunDoc(
        WasmRunDoc.create(text('runId', runId), text('title', title), JSON.stringify(steps), text('region', region), text('user', user)),
      );
    }

    static load(bytes, { runId = '', region = 'local', user = 'anonymous' } = {}) {
      return new RunDoc(WasmRunDoc.load(bytesOf(bytes), text('runId', runId), text('region', region), text('user', user)));
    }

    static empty(runId, { region = 'local', user = 'anonymous' } = {}) {
      return new RunDoc(WasmRunDoc.empty(text('runId', runId), text('region', region), text('user', user)));
    }

    get runId() {
      return this.#raw.runId();
    }

    get documentId() {
      return this.#raw.documentId();
    }

    graft(after, agentName) {
      const id = this.#raw.graft(text('after', after), text('agentName', agentName));
      this[EMIT]({ local: true });
      return id;
    }

    prune(node) {
      const changed = this.#raw.prune(text('node', node));
      if (changed) this[EMIT]({ local: true });
      return changed;
    }

    restore(node) {
      const changed = this.#raw.restore(text('node', node));
      if (changed) this[EMIT]({ local: true });
      return changed;
    }

    setFlag(key, value) {
      if (value === undefined) throw new TypeError(`flag "${key}": value is undefined, expected a JSON scalar`);
      this.#raw.setFlag(text('key', key), JSON.stringify(value));
      this[EMIT]({ local: true });
    }

    clearFlag(key) {
      const changed = this.#raw.clearFlag(text('key', key));
      if (changed) this[EMIT]({ local: true });
      return changed;
    }

    state() {
      return JSON.parse(this.#raw.stateJson());
    }

    history() {
      return JSON.parse(this.#raw.historyJson());
    }

    stateAt(heads) {
      return JSON.parse(this.#raw.stateAtJson(hashes('heads', heads)));
    }

    diff(from, to) {
      return JSON.parse(this.#raw.diffJson(hashes('from', from), to === undefined ? [] : hashes('to', to)));
    }

    /** Reverses one earlier change (by its hash) with a new change; returns the new hash. */
    undo(change) {
      const hash = this.#raw.undo(text('change', change));
      this[EMIT]({ local: true });
      return hash;
    }

    /** A new run sharing this run's history up to `at` (default: now). */
    fork({ runId = '', at } = {}) {
      return new RunDoc(this.#raw.fork(text('runId', runId), at === undefined ? [] : hashes('at', at)));
    }

    /** Where this run was forked from: `{run, at}`, or null. */
    get forkOf() {
      return JSON.parse(this.#raw.forkOfJson());
    }

    /** Takes every change of `other` (a fork of this run, or the run it came from). */
    mergeFrom(other) {
      if (!(other instanceof RunDoc)) throw new TypeError('mergeFrom() takes another RunDoc');
      const changed = this.#raw.mergeFrom(other[RAW]);
      if (changed) this[EMIT]({ local: false });
      return changed;
    }

    get lamport() {
      return this.#raw.lamport();
    }

    get graftCount() {
      return this.#raw.graftCount();
    }

    save() {
      return this.#raw.save();
    }

    saveIncremental() {
      return this.#raw.saveIncremental();
    }

    applyChanges(bytes) {
      const changed = this.#raw.applyChanges(bytesOf(bytes));
      if (changed) this[EMIT]({ local: false });
      return changed;
    }

    merge(other) {
      if (!(other instanceof RunDoc)) throw new TypeError('merge() takes another RunDoc');
      const changed = this.#raw.merge(other[RAW]);
      if (changed) this[EMIT]({ local: false });
      return changed;
    }

    heads() {
      return this.#raw.heads();
    }

    /** Calls `listener({local})` after every change; returns a function that unsubscribes. */
    onChange(listener) {
      if (typeof listener !== 'function') throw new TypeError('onChange() takes a function');
      this.#listeners.add(listener);
      return () => this.#listeners.delete(listener);
    }

    /** Releases the wasm memory; the RunDoc cannot be used afterwards. */
    free() {
      this.#listeners.clear();
      this.#raw.free();
    }

    get [RAW]() {
      return this.#raw;
    }

    [EMIT](event) {
      for (const listener of [...this.#listeners]) {
        try {
          listener(event);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    }
  }

  function connect(url, runIdOrDoc, options = {}) {
    return new Connection(url, runIdOrDoc, options);
  }

  /**
   * Opens run `runId` kept in `options.store` (`{load(runId), save(runId, record)}`):
   * loads it from there (or starts with nothing), then connects like `connect`. Every
   * change, made here or received, is saved to the store before anything is sent to the
   * relay, so a process that dies and opens the run again loses nothing it made.
   */
  async function open(url, runId, options = {}) {
    const { store, region, user } = options;
    if (!store || typeof store.load !== 'function' || typeof store.save !== 'function') {
      throw new TypeError('open() needs options.store with load(runId) and save(runId, {bytes, acknowledged})');
    }
    text('runId', runId);
    const record = await store.load(runId);
    if (record != null && !(record.bytes instanceof Uint8Array)) {
      throw new TypeError(`store.load(${runId}) must resolve to null or {bytes: Uint8Array, acknowledged: string[]}`);
    }
    const doc = record ? RunDoc.load(record.bytes, { runId, region, user }) : RunDoc.empty(runId, { region, user });
    const acknowledged = record?.acknowledged ?? [];
    if (!Array.isArray(acknowledged) || !acknowledged.every((h) => typeof h === 'string')) {
      throw new TypeError(`store.load(${runId}): acknowledged must be an array of change hashes (hex strings)`);
    }
    return new Connection(url, doc, options, { stored: record != null, acknowledged });
  }

  class Connection {
    #url;
    #options;
    #client;
    #store = null;
    #writing = false;
    #storeError = null;
    #retry = null;
    #socket = null;
    #closed = false;
    #attempt = 0;
    #timer = null;
    #status = 'connecting';
    #statusListeners = new Set();
    #presenceListeners = new Set();
    #waiters = [];
    #storedWaiters = [];
    #unsubscribe;
    #error = null;

    /** @internal Use connect() or open(). */
    constructor(url, runIdOrDoc, options, kept = null) {
      const { token, WebSocket: Socket = globalThis.WebSocket, region, user } = options;
      if (typeof Socket !== 'function') {
        throw new Error('no WebSocket implementation: pass {WebSocket} (for example from the "ws" package) on Node 20');
      }
      this.doc = runIdOrDoc instanceof RunDoc ? runIdOrDoc : RunDoc.empty(runIdOrDoc, { region, user });
      const target = new URL(url);
      if (token) target.searchParams.set('token', token);
      this.#url = target.toString();
      this.#options = { ...options, Socket };
      if (kept) {
        this.#store = options.store;
        this.#client = WasmClient.withStore(this.doc[RAW], kept.stored, kept.acknowledged);
      } else {
        this.#client = new WasmClient(this.doc[RAW]);
      }
      this.#unsubscribe = this.doc.onChange(({ local }) => {
        if (local) this.#perform(this.#client.localChange(this.doc[RAW]));
      });
      if (kept) this.#perform(this.#client.retryStore(this.doc[RAW]));
      this.#dial();
    }

    /** 'connecting' | 'syncing' | 'synced' | 'offline' | 'unavailable' | 'closed' */
    get status() {
      return this.#status;
    }

    get peerId() {
      return this.#client.peerId();
    }

    /** Changes the relay has not acknowledged yet. */
    get unacknowledged() {
      return this.#client.status(this.doc[RAW]).unacknowledged;
    }

    /** Why the last save to the store failed, while nothing has been saved since. */
    get storeError() {
      return this.#storeError;
    }

    onStatus(listener) {
      this.#statusListeners.add(listener);
      return () => this.#statusListeners.delete(listener);
    }

    /** Ephemeral data (presence) from other peers on this run: `listener(peerId, value)`. */
    onPresence(listener) {
      this.#presenceListeners.add(listener);
      return () => this.#presenceListeners.delete(listener);
    }

    /** Sends any JSON value to the run's other peers, not stored; false while offline. */
    sendPresence(value) {
      const frame = this.#client.ephemeralJson(JSON.stringify(value));
      if (!frame) return false;
      this.#send(frame);
      return true;
    }

    /** Resolves once the relay holds everything this replica has and vice versa. */
    synced({ timeoutMs = 10_000 } = {}) {
      if (this.#status === 'synced') return Promise.resolve();
      if (this.#status === 'unavailable') return Promise.reject(this.#unavailable());
      if (this.#status === 'closed') return Promise.reject(new Error('connection closed'));
      return this.#wait(this.#waiters, timeoutMs, () => `not synced with ${this.#url}`);
    }

    /** Resolves once the store (of `open()`) holds everything this replica has. */
    stored({ timeoutMs = 10_000 } = {}) {
      if (!this.#store) return Promise.reject(new Error('this connection has no store: use open()'));
      if (this.#client.status(this.doc[RAW]).stored) return Promise.resolve();
      return this.#wait(this.#storedWaiters, timeoutMs, () => 'not stored');
    }

    close() {
      this.#closed = true;
      clearTimeout(this.#timer);
      clearTimeout(this.#retry);
      this.#unsubscribe();
      this.#socket?.close();
      this.#client.close(this.doc[RAW]);
      this.#setStatus('closed');
      this.#settle(this.#waiters, new Error('connection closed'));
    }

    #wait(list, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const waiter = { resolve, reject };
        waiter.timer = setTimeout(() => {
          const at = list.indexOf(waiter);
          if (at >= 0) list.splice(at, 1);
          const why = this.#error ?? this.#storeError;
          reject(new Error(`${what()} after ${timeoutMs} ms (status ${this.#status})${why ? `: ${why.message}` : ''}`));
        }, timeoutMs);
        list.push(waiter);
      });
    }

    #dial() {
      if (this.#closed) return;
      this.#setStatus('connecting');
      const socket = new this.#options.Socket(this.#url);
      socket.binaryType = 'arraybuffer';
      this.#socket = socket;
      socket.onopen = () => {
        this.#attempt = 0;
        this.#perform(this.#client.open(this.doc[RAW]));
      };
      socket.onmessage = (event) => {
        if (typeof event.data === 'string') return; // the protocol is binary only
        // Checked before the copy into wasm memory, which never shrinks.
        if (event.data.byteLength > MAX_FRAME_BYTES) {
          this.#error = new Error(
            `the relay sent a frame of ${event.data.byteLength} bytes, more than this client takes (${MAX_FRAME_BYTES})`,
          );
          socket.close();
          return;
        }
        this.#perform(this.#client.receive(this.doc[RAW], new Uint8Array(event.data)));
      };
      socket.onerror = () => {};
      socket.onclose = () => {
        if (this.#socket !== socket) return;
        this.#client.close(this.doc[RAW]);
        this.#socket = null;
        if (this.#closed) return;
        if (this.#status !== 'unavailable') this.#setStatus('offline');
        const { minDelayMs = 250, maxDelayMs = 10_000 } = this.#options;
        const delay = Math.min(maxDelayMs, minDelayMs * 2 ** this.#attempt++);
        this.#timer = setTimeout(() => this.#dial(), delay / 2 + Math.random() * (delay / 2));
      };
    }

    /** Performs the client machine's effects, in order. */
    #perform(effects) {
      for (const effect of effects) {
        switch (effect.kind) {
          case 'send':
            this.#send(effect.frame);
            break;
          case 'storeDue':
            this.#write();
            break;
          case 'changed':
            if (!effect.local) this.doc[EMIT]({ local: false });
            break;
          case 'unavailable':
            this.#setStatus('unavailable');
            this.#settle(this.#waiters, this.#unavailable());
            break;
          case 'ephemeral': {
            const value = JSON.parse(effect.json);
            for (const listener of [...this.#presenceListeners]) listener(effect.peer, value);
            break;
          }
          case 'drop':
            this.#error = new Error(effect.why);
            this.#socket?.close();
            break;
          case 'storeFailed':
            this.#storeError = new Error(`saving run ${this.doc.runId} failed: ${effect.why}`);
            clearTimeout(this.#retry);
            this.#retry = setTimeout(() => this.#perform(this.#client.retryStore(this.doc[RAW])), 1_000);
            break;
          default:
            break; // 'joined'
        }
      }
      this.#refresh();
    }

    /** Saves the run to the store, one save at a time. */
    #write() {
      if (this.#writing) return;
      const request = this.#client.takeStore(this.doc[RAW]);
      if (!request) return;
      this.#writing = true;
      const record = { bytes: request.bytes, acknowledged: request.acknowledged };
      Promise.resolve()
        .then(() => this.#store.save(this.doc.runId, record))
        .then(
          () => {
            this.#writing = false;
            this.#storeError = null;
            this.#perform(this.#client.stored(this.doc[RAW], request.id));
          },
          (e) => {
            this.#writing = false;
            this.#perform(this.#client.storeFailed(this.doc[RAW], request.id, String(e?.message ?? e)));
          },
        );
    }

    #refresh() {
      const status = this.#client.status(this.doc[RAW]);
      if (status.stored) this.#settle(this.#storedWaiters, null);
      if (this.#status === 'unavailable' || this.#status === 'closed' || !status.joined) return;
      this.#setStatus(status.synced ? 'synced' : 'syncing');
      if (status.synced) this.#settle(this.#waiters, null);
    }

    #unavailable() {
      return new Error(`run ${this.doc.runId} is not on the relay (nor on any relay it knows)`);
    }

    #settle(list, error) {
      const waiters = list.splice(0);
      for (const w of waiters) {
        clearTimeout(w.timer);
        if (error) w.reject(error);
        else w.resolve();
      }
    }

    #send(frame) {
      if (this.#socket?.readyState === 1) this.#socket.send(frame);
    }

    #setStatus(status) {
      if (status === this.#status) return;
      this.#status = status;
      for (const listener of [...this.#statusListeners]) listener(status);
    }
  }

  return { RunDoc, Connection, connect, open };
}

function text(name, value) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`);
  return value;
}

function hashes(name, value) {
  if (!Array.isArray(value) || value.length === 0 || !value.every((h) => typeof h === 'string')) {
    throw new TypeError(`${name} must be a non-empty array of change hashes (hex strings), as heads() returns`);
  }
  return value;
}

function bytesOf(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new TypeError('expected a Uint8Array or ArrayBuffer');
}
