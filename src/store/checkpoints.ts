/**
 * The core's CheckpointStore on IndexedDB. One readwrite transaction writes the new files, the
 * pointer record and the removal of files the new checkpoint no longer uses; only `tx.done`
 * confirms it. A crash or a full disk aborts the transaction and leaves the previous checkpoint
 * whole (tfjs's own indexeddb:// saver uses two transactions, which is why it is not used here).
 */
import type { Checkpoint, CheckpointStore } from '../core/io/checkpoint';
import { storageError, type StudioDB } from './db';

export class IndexedDBCheckpointStore implements CheckpointStore {
  constructor(
    private readonly db: StudioDB,
    readonly runId: string,
  ) {}

  async load(): Promise<Checkpoint | null> {
    const tx = this.db.transaction(['checkpoints', 'checkpointFiles'], 'readonly');
    const pointer = await tx.objectStore('checkpoints').get(this.runId);
    if (!pointer) return null;
    const files: Record<string, Uint8Array> = {};
    for (const name of pointer.files) {
      const rec = await tx.objectStore('checkpointFiles').get([this.runId, name]);
      if (!rec) throw new Error(`Checkpoint of run ${this.runId} is missing its file '${name}'`);
      files[name] = rec.data;
    }
    await tx.done;
    return { state: pointer.state, files };
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const names = Object.keys(checkpoint.files);
    const tx = this.db.transaction(['checkpoints', 'checkpointFiles'], 'readwrite');
    const done = tx.done;
    done.catch(() => undefined); // awaited below; a quota abort also rejects it
    const fileStore = tx.objectStore('checkpointFiles');
    try {
      const existing = new Set((await fileStore.index('byRun').getAllKeys(this.runId)).map((k) => k[1]));
      for (const name of names) {
        if (!existing.has(name)) await fileStore.put({ runId: this.runId, name, data: checkpoint.files[name] });
      }
      await tx.objectStore('checkpoints').put({ runId: this.runId, state: checkpoint.state, files: names, savedAt: Date.now() });
      for (const old of existing) if (!(old in checkpoint.files)) await fileStore.delete([this.runId, old]);
      await done;
    } catch (e) {
      try {
        tx.abort();
      } catch {
        // already finished or aborted
      }
      throw storageError(e, 'the checkpoint');
    }
  }

  /** Removes every checkpoint of this run (after it finished or was deleted). */
  async clear(): Promise<void> {
    const tx = this.db.transaction(['checkpoints', 'checkpointFiles'], 'readwrite');
    const keys = await tx.objectStore('checkpointFiles').index('byRun').getAllKeys(this.runId);
    for (const k of keys) await tx.objectStore('checkpointFiles').delete(k);
    await tx.objectStore('checkpoints').delete(this.runId);
    await tx.done;
  }
}
