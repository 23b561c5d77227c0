import { describe, expect, it } from 'vitest';
import { fastestOf } from '../../src/core/measure/fastest';

/** A measurer that returns the scripted figures in turn, counting its calls. */
function scripted(figures: number[]) {
  let i = 0;
  const m = async () => figures[i++ % figures.length];
  return Object.assign(m, { calls: () => i });
}

describe('fastestOf (measured choice, scripted measurers)', () => {
  it('takes the lowest median over interleaved rounds, not the first or a lucky single round', async () => {
    const tfjs = scripted([50, 52, 51]);
    // One lucky 10 ms round does not make it faster: its median is 60.
    const ort = scripted([10, 60, 70]);
    const choice = await fastestOf({ tfjs, onnxruntime: ort }, 3);
    expect(choice).toEqual({ chosen: 'tfjs', medianMs: { tfjs: 51, onnxruntime: 60 } });
    expect([tfjs.calls(), ort.calls()]).toEqual([3, 3]);
  });

  it('prefers the faster candidate whichever comes first', async () => {
    expect((await fastestOf({ tfjs: scripted([67]), onnxruntime: scripted([20]) })).chosen).toBe('onnxruntime');
    expect((await fastestOf({ onnxruntime: scripted([20]), tfjs: scripted([67]) })).chosen).toBe('onnxruntime');
    await expect(fastestOf({})).rejects.toThrow('Nothing to choose from');
  });
});
