import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TeacherPool } from '../../src/core/compress/distill';
import { trainingSets } from '../../src/core/data/dataset';
import { syntheticShapes } from '../../src/core/data/synthetic';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { Rng } from '../../src/core/train/rng';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('teacher pool', () => {
  it("holds the teacher's outputs for its crops, rebuilds identically from its seed, draws batches and respects its memory cap", async () => {
    const { inputs, targets } = syntheticShapes(6, 16, 2);
    const { train } = trainingSets(inputs, targets, { size: 16, range: '-1,1', heldOut: 1 });
    const teacher = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 16, depth: 1, seed: 2 }));
    const before = tf.memory().numTensors;
    const pool = await TeacherPool.build(teacher, train, { count: 20, size: 16, flip: true, seed: 7 });
    expect(pool.size).toBe(20);
    expect(pool.y!.shape).toEqual([20, 16, 16, 3]);
    const again = tf.tidy(() => (teacher.predict(pool.x) as tf.Tensor).arraySync());
    expect(pool.reference[0].arraySync()).toEqual(again);
    const twin = await TeacherPool.build(teacher, train, { count: 20, size: 16, flip: true, seed: 7 });
    expect(twin.x.arraySync()).toEqual(pool.x.arraySync());
    const { x, y, reference } = pool.batch(new Rng(3), 5);
    expect(x.shape).toEqual([5, 16, 16, 3]);
    expect(reference[0].arraySync()).toEqual(tf.tidy(() => (teacher.predict(x) as tf.Tensor).arraySync()));
    tf.dispose([x, y!, ...reference]);
    // 16x16x3 floats for the crop, the target and the output: 9216 bytes a crop.
    const capped = await TeacherPool.build(teacher, train, { count: 20, size: 16, flip: false, seed: 7, maxBytes: 9216 * 12 });
    expect(capped.size).toBe(12);
    [pool, twin, capped].forEach((p) => p.dispose());
    expect(tf.memory().numTensors).toBe(before);
    teacher.dispose();
    train.dispose();
  });
});
