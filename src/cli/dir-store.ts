/**
 * A checkpoint store in a folder (Node). Files are written under their own names (a name never
 * changes content), then `checkpoint.json` is replaced by an atomic rename: a process killed at
 * any moment leaves either the old or the new checkpoint complete. Files no longer referenced
 * are removed after the switch.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Checkpoint, CheckpointStore } from '../core/io/checkpoint';

const POINTER = 'checkpoint.json';

export class DirCheckpointStore implements CheckpointStore {
  constructor(readonly dir: string) {}

  async load(): Promise<Checkpoint | null> {
    const text = await fs.readFile(path.join(this.dir, POINTER), 'utf8').catch(() => null);
    if (text === null) return null;
    const { state, files } = JSON.parse(text) as { state: Record<string, unknown>; files: string[] };
    const loaded: Record<string, Uint8Array> = {};
    for (const name of files) loaded[name] = new Uint8Array(await fs.readFile(path.join(this.dir, name)));
    return { state, files: loaded };
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const names = Object.keys(checkpoint.files);
    for (const name of names) {
      const target = path.join(this.dir, name);
      if (await fs.stat(target).catch(() => null)) continue;
      await writeAtomically(target, checkpoint.files[name]);
    }
    await writeAtomically(path.join(this.dir, POINTER), JSON.stringify({ state: checkpoint.state, files: names }));
    const keep = new Set([POINTER, ...names]);
    for (const name of await fs.readdir(this.dir)) {
      if (!keep.has(name)) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }
}

async function writeAtomically(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, target);
}
