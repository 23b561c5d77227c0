/**
 * `alap data`: a built-in task's images as PNG folders, or users' own photos (`--from`): each
 * centre-cropped and resized, its target the cartoon filter's output.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cartoonize } from '../../core/data/cartoon';
import { centreSquare } from '../../core/data/photo-augment';
import { taskKind, TASKS, type TaskName } from '../../core/data/tasks';
import { int, progressBar, UsageError, type Values } from '../args';
import { encodePng } from '../images';
import { checkOutDir } from '../model-dir';
import { pngName, readUsable } from '../photo-files';
import { writeTaskData } from '../pipeline-run';

/** `alap data`: writes a built-in task's images as PNG folders. */
export async function makeData(values: Values) {
  const task = (values.task ?? 'shapes') as TaskName;
  if (!TASKS.includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got '${task}'`);
  if (!values.out) throw new UsageError('data needs --out <dir>');
  const count = int(values, 'count', 40)!;
  const size = int(values, 'size', 128)!;
  const [a, b] = await writeTaskData(task, count, size, int(values, 'seed', 1)!, values.out);
  const what = taskKind(task) === 'paired' ? `${count} ${size}x${size} pairs` : `${count} + ${count} unpaired ${size}x${size} images`;
  console.log(`wrote ${what} (${task}) to ${a} and ${b}`);
}

/** `alap data --task face-to-cartoon --from <photos> --out <dir> [--size 256]`. */
export async function dataFromPhotos(values: Values) {
  if (values.task !== 'face-to-cartoon') throw new UsageError(`--from makes targets with the cartoon filter: use it with --task face-to-cartoon`);
  const out = values.out!;
  const size = int(values, 'size', 256)!;
  await checkOutDir(out, Boolean(values.force));
  const photos = await readUsable(values.from!);
  const bar = progressBar('photos');
  const staging = `${out.replace(/\/+$/, '')}.partial`;
  await fs.rm(staging, { recursive: true, force: true });
  for (const folder of ['inputs', 'targets']) await fs.mkdir(path.join(staging, folder), { recursive: true });
  for (const [i, photo] of photos.entries()) {
    const input = centreSquare(photo, size);
    const target = cartoonize(input);
    await fs.writeFile(path.join(staging, 'inputs', pngName(photo.name)), encodePng(size, size, 3, input.data));
    await fs.writeFile(path.join(staging, 'targets', pngName(photo.name)), encodePng(size, size, 3, target.data));
    bar(i + 1, photos.length, photo.name);
  }
  // Into place only when complete: a cut-off run leaves no half dataset at --out.
  await fs.rm(out, { recursive: true, force: true });
  await fs.rename(staging, out);
  console.log(`wrote ${photos.length} ${size}x${size} pairs (photo -> cartoon filter) to ${out}/inputs and ${out}/targets`);
}
