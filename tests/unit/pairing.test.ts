import { describe, expect, it } from 'vitest';
import { fileStem, pairByName, splitSideBySide, uniqueByName } from '../../src/core/data/pairing';
import type { RawImage } from '../../src/core/data/dataset';

const f = (name: string) => ({ name });

describe('pairing image files', () => {
  it('matches by name with the extension ignored, in the inputs order, and lists what has no partner', () => {
    const r = pairByName([f('b.png'), f('a.jpg'), f('c.png')], [f('a.png'), f('b.jpeg'), f('z.png')]);
    expect(r.pairs.map((p) => [p.input.name, p.target.name])).toEqual([
      ['b.png', 'b.jpeg'],
      ['a.jpg', 'a.png'],
    ]);
    expect(r.inputsWithoutTarget.map((x) => x.name)).toEqual(['c.png']);
    expect(r.targetsWithoutInput.map((x) => x.name)).toEqual(['z.png']);
    expect(r.inputDuplicates).toEqual([]);
  });

  it('leaves out a second file of the same name on either side, naming the first', () => {
    const r = pairByName([f('a.png'), f('a.jpg')], [f('a.png'), f('a.png.bak'), f('a.jpeg')]);
    expect(r.pairs.map((p) => [p.input.name, p.target.name])).toEqual([['a.png', 'a.png']]);
    expect(r.inputDuplicates.map((d) => [d.file.name, d.first.name])).toEqual([['a.jpg', 'a.png']]);
    expect(r.targetDuplicates.map((d) => [d.file.name, d.first.name])).toEqual([['a.jpeg', 'a.png']]);
    // 'a.png.bak' has the stem 'a.png': a name of its own, so a target without an input.
    expect(r.targetsWithoutInput.map((x) => x.name)).toEqual(['a.png.bak']);
    expect(fileStem('x.y.png')).toBe('x.y');
    expect(uniqueByName([f('q.png'), f('q.png')]).kept).toHaveLength(1);
  });

  it('splits an AB image into its halves, either way round, and refuses an odd width', () => {
    // 4x1 RGB: two pixels per half.
    const img: RawImage = { name: 'ab.png', width: 4, height: 1, channels: 3, data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]) };
    const [input, target] = splitSideBySide(img, 'AtoB');
    expect([input.width, Array.from(input.data), Array.from(target.data)]).toEqual([2, [1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]]);
    const [swapped] = splitSideBySide(img, 'BtoA');
    expect(Array.from(swapped.data)).toEqual([3, 3, 3, 4, 4, 4]);
    expect(() => splitSideBySide({ ...img, width: 3, data: img.data.subarray(0, 9) }, 'AtoB')).toThrow(/'ab.png' is 3 px wide: a side-by-side pair needs an even width/);
  });
});
