// directoryStore(dir): a local store for open() in Node, one file per run in `dir`.
// Each save writes a temporary file, flushes it to disk, and renames it over the run's
// file (then flushes the directory), so a crash leaves the old save or the new one,
// never half of one.
import { mkdir, open as openFile, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keeps runs in `dir` (created if missing): `<runId>.run` and `<runId>.acked.json`. */
export function directoryStore(dir) {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('directoryStore(dir) needs a directory path');
  const path = (runId, ext) => {
    if (!RUN_ID.test(runId)) throw new TypeError(`run id ${JSON.stringify(runId)} is not a UUID`);
    return join(dir, `${runId.toLowerCase()}.${ext}`);
  };
  return {
    async load(runId) {
      let bytes;
      try {
        bytes = new Uint8Array(await readFile(path(runId, 'run')));
      } catch (e) {
        if (e.code === 'ENOENT') return null;
        throw e;
      }
      let acknowledged = [];
      try {
        acknowledged = JSON.parse(await readFile(path(runId, 'acked.json'), 'utf8'));
      } catch {
        // Only counts unsent changes: without it every change counts as unsent.
      }
      return { bytes, acknowledged: Array.isArray(acknowledged) ? acknowledged : [] };
    },
    async save(runId, { bytes, acknowledged }) {
      await mkdir(dir, { recursive: true });
      await replace(path(runId, 'run'), bytes);
      await replace(path(runId, 'acked.json'), Buffer.from(JSON.stringify(acknowledged)));
    },
  };
}

async function replace(file, bytes) {
  const tmp = `${file}.tmp`;
  const handle = await openFile(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const parent = await openFile(join(file, '..'), 'r');
  try {
    await parent.sync();
  } finally {
    await parent.close();
  }
}
