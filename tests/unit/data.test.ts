import { describe, expect, it } from 'vitest';
import { cartoonize } from '../../src/core/data/cartoon';
import { FACE_CLASSES, FACE_CLASS_COLOURS, labelsToOneHot, proceduralFaces } from '../../src/core/data/faces';
import { syntheticShapes } from '../../src/core/data/synthetic';
import { generateTask, TASKS } from '../../src/core/data/tasks';

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
const FIXTURES = { faces: '2f26b27b', shapes: '26fa573e', cartoon: '4d3d5a9b' };

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
  it('flattens colours into few bands and draws dark lines on edges', () => {
    const face = proceduralFaces(1, 64, 9)[0].face;
    const toon = cartoonize(face);
    const colours = (d: Uint8Array) => new Set(Array.from({ length: d.length / 3 }, (_, i) => `${d[i * 3]},${d[i * 3 + 1]},${d[i * 3 + 2]}`)).size;
    expect(colours(toon.data)).toBeLessThan(colours(face.data) / 4);
    // The face outline (skin next to background) is a dark line somewhere along the middle row.
    const row = 32;
    const dark = Array.from({ length: 64 }, (_, x) => toon.data[(row * 64 + x) * 3] + toon.data[(row * 64 + x) * 3 + 1] + toon.data[(row * 64 + x) * 3 + 2]).filter((v) => v < 90);
    expect(dark.length).toBeGreaterThan(0);
    expect(cartoonize(face).data).toEqual(toon.data);
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
