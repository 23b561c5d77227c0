/**
 * What the Storage page lists and deletes, and the benchmark sessions the Benchmark page keeps.
 * The app layer (see datasets.ts) without tfjs, so the page calls it directly: deletions take a
 * dataset's images and a run's checkpoints with them, and every write is announced to the views.
 */
import { announceChange } from '../store/changes';
import { IndexedDBCheckpointStore } from '../store/checkpoints';
import { newId, storageError, type BenchmarkRecord, type StudioDB } from '../store/db';

export interface StoredItem {
  store: 'datasets' | 'models' | 'runs';
  id: string;
  name: string;
  /** Bytes it holds: a dataset's images, a model's weights, a run's checkpoints. */
  bytes: number;
}

/** Every dataset, model and run with what it takes in storage. */
export async function storedItems(db: StudioDB): Promise<StoredItem[]> {
  const checkpointBytes = new Map<string, number>();
  for (const f of await db.getAll('checkpointFiles')) checkpointBytes.set(f.runId, (checkpointBytes.get(f.runId) ?? 0) + f.data.byteLength);
  return [
    ...(await db.getAll('datasets')).map((d) => ({ store: 'datasets' as const, id: d.id, name: d.name, bytes: d.bytes })),
    ...(await db.getAll('models')).map((m) => ({ store: 'models' as const, id: m.id, name: m.name, bytes: m.bytes })),
    ...(await db.getAll('runs')).map((r) => ({ store: 'runs' as const, id: r.id, name: `${r.name} (${r.status})`, bytes: checkpointBytes.get(r.id) ?? 0 })),
  ];
}

/** Deletes a dataset with its images, a run with its checkpoints, or a model. */
export async function deleteStored(db: StudioDB, item: Pick<StoredItem, 'store' | 'id'>): Promise<void> {
  if (item.store === 'datasets') {
    const tx = db.transaction(['datasets', 'images'], 'readwrite');
    for (const key of await tx.objectStore('images').index('byDataset').getAllKeys(item.id)) await tx.objectStore('images').delete(key);
    await tx.objectStore('datasets').delete(item.id);
    await tx.done;
  } else if (item.store === 'runs') {
    await new IndexedDBCheckpointStore(db, item.id).clear();
    await db.delete('runs', item.id);
  } else {
    await db.delete('models', item.id);
  }
  announceChange(item.store);
}

/** Keeps one benchmark session (every backend x model measured) with the device it ran on. */
export async function saveBenchmark(db: StudioDB, session: Omit<BenchmarkRecord, 'id' | 'createdAt'>): Promise<BenchmarkRecord> {
  const record = { ...session, id: newId('bench'), createdAt: Date.now() };
  try {
    await db.put('benchmarks', record);
  } catch (e) {
    throw storageError(e, 'the benchmark');
  }
  announceChange('benchmarks');
  return record;
}
