import { describe, expect, it } from 'vitest';
import { cartoonize, type CartoonOptions } from '../../src/core/data/cartoon';
import { FACE_CLASSES, FACE_CLASS_COLOURS, labelsToOneHot, proceduralFaces } from '../../src/core/data/faces';
import { syntheticShapes } from '../../src/core/data/synthetic';
import { generateTask, taskItems, TASKS } from '../../src/core/data/tasks';
import { colourLabelMap, labelPalette } from '../../src/core/data/labels';
import * as tf from '@tensorflow/tfjs';
import { trainingSets, type RawImage } from '../../src/core/data/dataset';
import { Rng } from '../../src/core/train/rng';

/** FNV-1a of bytes: a fixture that changes whenever a generator's output does. */
function fnv1a(...arrays: Uint8Array[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) for (const b of a) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

describe('procedural data is reproducible', () => {
  it('faces: same seed, same bytes; another seed, other bytes', () => {
    const a = proceduralFaces(3, 48, 11);
    const b = proceduralFaces(3, 48, 11);
    const c = proceduralFaces(3, 48, 12);
    expect(fnv1a(...a.map((f) => f.face.data))).toBe(fnv1a(...b.map((f) => f.face.data)));
    expect(fnv1a(...a.map((f) => f.face.data))).not.toBe(fnv1a(...c.map((f) => f.face.data)));
  });

  it('generators match their stored fixtures (hash of the output for a seed)', () => {
    const faces = proceduralFaces(2, 32, 7);
    const shapes = syntheticShapes(2, 32, 7);
    expect({
      faces: fnv1a(...faces.flatMap((f) => [f.face.data, f.labels])),
      shapes: fnv1a(...shapes.inputs.map((i) => i.data), ...shapes.targets.map((t) => t.data)),
      cartoon: fnv1a(cartoonize(faces[0].face).data),
    }).toEqual(FIXTURES);
  });
});

// Recorded from this repo's generators; update deliberately when a generator changes.
const FIXTURES = { faces: '2f26b27b', shapes: '26fa573e', cartoon: '53479167' };
const TASK_FIXTURES = { shapes: 'e03de4ae', 'mask-to-face': 'b0210614', 'face-to-cartoon': '2f623bf7', unpaired: 'cc778e23' };

describe('built-in tasks are reproducible', () => {
  it.each(TASKS)('%s: five items for seed 3 match the stored hash', (task) => {
    const d = generateTask(task, 5, 24, 3);
    expect(fnv1a(...d.inputs.map((i) => i.data), ...d.targets.map((i) => i.data))).toBe(TASK_FIXTURES[task]);
  });

  it('drawing items lazily in chunks gives the same images as drawing them at once', () => {
    const items = taskItems('mask-to-face', 20, 4);
    const chunks = [0, 1, 2].flatMap(() => Array.from({ length: 3 }, () => items.next().value!));
    const whole = generateTask('mask-to-face', 9, 20, 4);
    expect(chunks.map(([x, y]) => fnv1a(x.data, y.data))).toEqual(whole.inputs.map((x, i) => fnv1a(x.data, whole.targets[i].data)));
  });
});

describe('face labels', () => {
  it('every class appears across a few faces, and the colour map encodes the labels', () => {
    const faces = proceduralFaces(8, 64, 5);
    const seen = new Set<number>();
    for (const f of faces) f.labels.forEach((k) => seen.add(k));
    expect([...seen].sort()).toEqual(FACE_CLASSES.map((_, i) => i));
    const f = faces[0];
    f.labels.forEach((k, i) => expect(Array.from(f.labelColours.data.subarray(i * 3, i * 3 + 3))).toEqual(FACE_CLASS_COLOURS[FACE_CLASSES[k]]));
  });

  it('one-hot planes sum to one per pixel', () => {
    const f = proceduralFaces(1, 16, 2)[0];
    const hot = labelsToOneHot(f.labels);
    for (let i = 0; i < f.labels.length; i++) {
      const row = hot.subarray(i * FACE_CLASSES.length, (i + 1) * FACE_CLASSES.length);
      expect(row.reduce((s, v) => s + v, 0)).toBe(1);
      expect(row[f.labels[i]]).toBe(1);
    }
  });
});

describe('cartoon filter', () => {
  it('flattens brightness into bands and draws dark lines on edges', () => {
    const face = proceduralFaces(1, 64, 9)[0].face;
    const toon = cartoonize(face);
    // The share of pixels whose brightness is within 8 grey levels of a band (6 levels, 51 apart).
    const onBands = (d: Uint8Array) => {
      let n = 0;
      for (let i = 0; i < d.length / 3; i++) {
        const y = 0.299 * d[i * 3] + 0.587 * d[i * 3 + 1] + 0.114 * d[i * 3 + 2];
        if (Math.abs(y - Math.round(y / 51) * 51) < 8) n++;
      }
      return n / (d.length / 3);
    };
    expect(onBands(face.data)).toBeLessThan(0.4);
    expect(onBands(toon.data)).toBeGreaterThan(0.65);
    // Strong edges along the middle row become dark lines: pixels under half the row's median
    // brightness, where the face itself has none.
    const darkOnRow = (d: Uint8Array) => {
      const sums = Array.from({ length: 64 }, (_, x) => d[(32 * 64 + x) * 3] + d[(32 * 64 + x) * 3 + 1] + d[(32 * 64 + x) * 3 + 2]);
      const median = [...sums].sort((a, b) => a - b)[32];
      return sums.filter((v) => v < median / 2).length;
    };
    expect(darkOnRow(face.data)).toBe(0);
    expect(darkOnRow(toon.data)).toBeGreaterThan(0);
    expect(cartoonize(face).data).toEqual(toon.data);
  });

  it('is stable under small input noise (smooth band steps), unlike hard steps', () => {
    const face = proceduralFaces(1, 64, 9)[0].face;
    const rng = new Rng(1);
    const noisy = { ...face, data: Uint8Array.from(face.data, (v) => Math.max(0, Math.min(255, Math.round(v + rng.range(-2, 2))))) };
    const change = (options: Partial<CartoonOptions>) => {
      const a = cartoonize(face, options).data;
      const b = cartoonize(noisy, options).data;
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
      return 10 * Math.log10((255 * 255) / (sum / a.length)); // PSNR of the output change
    };
    const soft = change({});
    expect(soft).toBeGreaterThan(48);
    expect(soft).toBeGreaterThan(change({ bandSharpness: 3 }) + 6);
  });
});

describe('built-in tasks', () => {
  it.each(TASKS)('%s: the right kind, counts and sizes', (task) => {
    const data = generateTask(task, 3, 24, 2);
    expect(data.inputs).toHaveLength(3);
    expect(data.targets).toHaveLength(3);
    for (const img of [...data.inputs, ...data.targets]) expect([img.width, img.height, img.channels]).toEqual([24, 24, 3]);
    expect(data.kind).toBe(task === 'unpaired' ? 'unpaired' : 'paired');
  });

  it('face -> cartoon targets are the cartoon filter of the inputs; mask -> face inputs are label colours', () => {
    const cartoon = generateTask('face-to-cartoon', 2, 24, 4);
    expect(Array.from(cartoon.targets[1].data)).toEqual(Array.from(cartoonize(cartoon.inputs[1]).data));
    const masks = generateTask('mask-to-face', 2, 24, 4);
    const palette = new Set(Object.values(FACE_CLASS_COLOURS).map((c) => c.join()));
    const d = masks.inputs[0].data;
    for (let i = 0; i < d.length; i += 3) expect(palette.has(`${d[i]},${d[i + 1]},${d[i + 2]}`)).toBe(true);
  });
});

describe('label maps (CelebAMask-HQ style)', () => {
  const grey = (values: number[], width: number): RawImage => ({ name: 'mask.png', width, height: values.length / width, channels: 1, data: Uint8Array.from(values) });

  it('draws class k in palette colour k; the first colours are the procedural faces\'', () => {
    const palette = labelPalette(19);
    expect(palette.slice(0, FACE_CLASSES.length)).toEqual(FACE_CLASSES.map((c) => FACE_CLASS_COLOURS[c]));
    expect(new Set(palette.map((c) => c.join())).size).toBe(19);
    const img = colourLabelMap(grey([0, 1, 18, 2], 2), 19);
    expect(Array.from(img.data)).toEqual([...palette[0], ...palette[1], ...palette[18], ...palette[2]]);
    // The procedural faces' labels, written as a grey label PNG, come back as their colour map.
    const face = proceduralFaces(1, 16, 3)[0];
    expect(Array.from(colourLabelMap(grey(Array.from(face.labels), 16), 9).data)).toEqual(Array.from(face.labelColours.data));
  });

  it('refuses values that are not class indices and colour images, naming the file and pixel', () => {
    expect(() => colourLabelMap(grey([0, 1, 9, 2], 2), 9)).toThrow("'mask.png' has the value 9 at pixel (0, 1), not a class index below 9");
    const rgb: RawImage = { name: 'photo.png', width: 1, height: 1, channels: 3, data: Uint8Array.from([10, 20, 30]) };
    expect(() => colourLabelMap(rgb, 19)).toThrow("'photo.png' is a colour image, not a label map");
    expect(() => labelPalette(1)).toThrow('from 2 to 256');
  });
});

describe('augmentation', () => {
  it('jitter stores training images larger and crops input and target at the same random offset; held-out images stay at size', async () => {
    await tf.setBackend('cpu');
    const { inputs } = generateTask('shapes', 6, 20, 2);
    const { train, test } = trainingSets(inputs, inputs, { size: 16, jitter: 0.25, range: '-1,1', heldOut: 2 });
    expect(train.inputs.shape).toEqual([4, 20, 20, 3]);
    expect(test.inputs.shape).toEqual([2, 16, 16, 3]);
    const rng = new Rng(3);
    const crops = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const { x, y } = train.batch(rng, 2, true, 16);
      expect(x.shape).toEqual([2, 16, 16, 3]);
      expect(await tf.sub(x, y!).abs().max().data()).toEqual(new Float32Array([0]));
      crops.add(Array.from(await x.sum([1, 2, 3]).data()).join());
      tf.dispose([x, y!]);
    }
    expect(crops.size).toBeGreaterThan(3);
    // Without jitter the batch is whole images: the same draw as before crops existed.
    const plain = trainingSets(inputs, inputs, { size: 16, range: '-1,1', heldOut: 2 }).train;
    expect(plain.batch(new Rng(1), 2, false, 16).x.shape).toEqual([2, 16, 16, 3]);
    [train, test, plain].forEach((d) => d.dispose());
  });
});
