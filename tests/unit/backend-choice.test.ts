/**
 * auto = measured: the choice from probe figures (scripted here, never timed) and the probe's
 * bookkeeping with scripted backends; one real probe in Node checks the figures exist.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { chooseBackend, isSoftwareAdapter, predictFrameMs, probeKey, type BackendFigures, type ProbeResult } from '../../src/core/backend/choice';
import { probeBackends, type ProbeBench } from '../../src/core/backend/probe';
import type { BackendInfo, BackendName } from '../../src/core/backend/describe';

const MACS = { 64: 50e6, 128: 200e6 };

/** Figures of a backend whose frame costs `fixed` ms plus `perGmac` ms per GMAC. */
function linear(name: BackendName, fixed: number, perGmac: number, trainStepMs: number, extra: Partial<BackendFigures> = {}): BackendFigures {
  return { name, forwardMs: { 64: fixed + (perGmac * MACS[64]) / 1e9, 128: fixed + (perGmac * MACS[128]) / 1e9 }, trainStepMs, ...extra };
}

const probe = (...backends: BackendFigures[]): ProbeResult => ({ key: 'test', measuredAt: 0, costMs: 0, macs: MACS, backends });

describe('chooseBackend', () => {
  it('trains on the backend with the fastest measured training step', () => {
    const p = probe(linear('wasm', 2, 100, 60), linear('webgpu', 20, 5, 30));
    const c = chooseBackend(p, { kind: 'training' });
    expect(c.name).toBe('webgpu');
    expect(c.estimates.map((e) => e.name)).toEqual(['webgpu', 'wasm']);
    expect(c.reason).toContain('webgpu 30.0 ms per training step');
    expect(c.reason).toContain('wasm 60.0 ms');
  });

  it('a software adapter measured slower is not chosen, and the reason names it', () => {
    const p = probe(linear('wasm', 2, 100, 60), linear('webgpu', 900, 400, 4000, { software: true }));
    for (const job of [{ kind: 'training' as const }, { kind: 'inference' as const, macs: 2.4e9 }, { kind: 'inference' as const, macs: 1e7 }]) {
      const c = chooseBackend(p, job);
      expect(c.name).toBe('wasm');
      expect(c.reason).toMatch(/webgpu [\d,.]+ ms \(software adapter\)/);
    }
  });

  it('a software adapter is chosen only where its own figures win, and says so', () => {
    const c = chooseBackend(probe(linear('wasm', 2, 100, 60), linear('webgpu', 1, 10, 20, { software: true })), { kind: 'training' });
    expect(c.name).toBe('webgpu');
    expect(c.reason).toContain('software adapter, chosen only because it measured faster');
  });

  it('inference: a small model goes where the fixed cost per frame is low, a large one where the cost per MAC is', () => {
    // wasm 2 ms + 100 ms/GMAC; a GPU 25 ms per frame of dispatch + 5 ms/GMAC: equal at ~0.24 GMACs.
    const p = probe(linear('wasm', 2, 100, 60), linear('webgpu', 25, 5, 30));
    expect(chooseBackend(p, { kind: 'inference', macs: 0.1e9 }).name).toBe('wasm');
    expect(chooseBackend(p, { kind: 'inference', macs: 2.4e9 }).name).toBe('webgpu');
    const small = chooseBackend(p, { kind: 'inference', macs: 0.1e9 });
    expect(small.estimates.find((e) => e.name === 'wasm')!.ms).toBeCloseTo(12, 6);
    expect(small.estimates.find((e) => e.name === 'webgpu')!.ms).toBeCloseTo(25.5, 6);
    expect(small.reason).toContain('per frame at 0.10 GMACs');
  });

  it('backends that failed or were stopped are never chosen; with no figures at all, wasm', () => {
    const p = probe(
      linear('wasm', 2, 100, 60),
      { name: 'webgpu', forwardMs: { 64: 1 }, stopped: 'not measured further: a forward took 30x wasm\'s' },
      { name: 'cpu', forwardMs: {}, failed: 'no' },
    );
    const c = chooseBackend(p, { kind: 'inference', macs: 5e9 });
    expect(c.name).toBe('wasm');
    expect(c.reason).toContain("webgpu not measured further: a forward took 30x wasm's");
    expect(c.reason).toContain('cpu did not start');
    const none = chooseBackend(probe({ name: 'webgpu', forwardMs: {}, failed: 'no adapter' }), { kind: 'training' });
    expect(none.name).toBe('wasm');
    expect(none.estimates).toEqual([]);
  });

  it('predicts from one size in proportion to MACs, and never below zero cost per MAC', () => {
    expect(predictFrameMs({ name: 'wasm', forwardMs: { 64: 10 } }, MACS, 100e6)).toBeCloseTo(20, 9);
    // Noise made the larger size faster: no negative slope, the larger figure is not extrapolated down.
    expect(predictFrameMs({ name: 'wasm', forwardMs: { 64: 10, 128: 8 } }, MACS, 1e9)).toBeCloseTo(10, 9);
    expect(predictFrameMs({ name: 'wasm', forwardMs: {} }, MACS, 1e9)).toBeNull();
  });
});

describe('software adapters and the device key', () => {
  it('knows the flag and the software renderers by name', () => {
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: '' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'Microsoft Basic Render Driver' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'intel', architecture: 'gen-12lp', fallback: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3060' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3' })).toBe(false);
  });

  it('a new browser version or another adapter is another device', () => {
    const base = { userAgent: 'Chrome/156', cores: 8, isolated: true, adapter: 'intel gen-12lp' };
    expect(probeKey(base)).toBe(probeKey({ ...base }));
    expect(probeKey({ ...base, userAgent: 'Chrome/157' })).not.toBe(probeKey(base));
    expect(probeKey({ ...base, adapter: undefined })).not.toBe(probeKey(base));
    expect(probeKey({ ...base, isolated: false })).not.toBe(probeKey(base));
  });
});

describe('probeBackends with scripted backends', () => {
  /** Backends that start or fail as scripted, each frame costing what `ms` says; a clock that counts calls. */
  function scripted(ms: Partial<Record<BackendName, { forward: number; train: number } | 'fails' | 'breaks'>>) {
    const calls: string[] = [];
    let current: BackendName = 'cpu';
    const start = async (name: BackendName): Promise<BackendInfo> => {
      if (ms[name] === 'fails' || !ms[name]) throw new Error(`${name} cannot start here`);
      current = name;
      return { name, reason: 'test', skipped: [], environment: 'node', ...(name === 'webgpu' && { adapter: { vendor: 'google', architecture: 'swiftshader', device: '', description: '' } }) };
    };
    const bench = (): ProbeBench => {
      const m = ms[current]!;
      return {
        async forwardMs(side, runs) {
          calls.push(`${current} forward ${side} x${runs}`);
          if (m === 'breaks') throw new Error('shader compilation failed');
          return (m as { forward: number }).forward * (side / 64) ** 2;
        },
        async trainStepMs() {
          calls.push(`${current} train`);
          return (m as { train: number }).train;
        },
        dispose: () => calls.push(`${current} disposed`),
      };
    };
    let clock = 0;
    return { calls, start, bench, now: () => (clock += 100) };
  }

  it('measures each candidate; one far slower than the best so far stops after its first forward', async () => {
    const s = scripted({ wasm: { forward: 5, train: 40 }, webgpu: { forward: 200, train: 900 } });
    const p = await probeBackends({ candidates: ['wasm', 'webgpu'], fallback: 'cpu', key: 'k', ...s });
    const [wasm, webgpu, cpu] = p.backends;
    expect(wasm).toMatchObject({ name: 'wasm', forwardMs: { 64: 5, 128: 20 }, trainStepMs: 40 });
    expect(webgpu).toMatchObject({ name: 'webgpu', software: true, forwardMs: { 64: 200 }, stopped: "not measured further: a forward took 40x wasm's" });
    expect(webgpu.trainStepMs).toBeUndefined();
    expect(cpu.stopped).toMatch(/^not measured: a fallback/);
    expect(s.calls).toEqual(['wasm forward 64 x1', 'wasm forward 64 x5', 'wasm forward 128 x5', 'wasm train', 'wasm disposed', 'webgpu forward 64 x1', 'webgpu disposed']);
    expect(p.costMs).toBe(100);
    expect(p.macs[128]).toBeCloseTo(4 * p.macs[64], -3);
    expect(chooseBackend(p, { kind: 'inference', macs: 10e9 }).name).toBe('wasm');
  });

  it('a GPU within the ratio is measured fully and can win', async () => {
    const s = scripted({ wasm: { forward: 5, train: 40 }, webgpu: { forward: 8, train: 10 } });
    const p = await probeBackends({ candidates: ['wasm', 'webgpu'], key: 'k', ...s });
    expect(p.backends[1]).toMatchObject({ forwardMs: { 64: 8, 128: 32 }, trainStepMs: 10 });
    expect(p.backends[1].stopped).toBeUndefined();
    expect(chooseBackend(p, { kind: 'training' }).name).toBe('webgpu');
  });

  it('records a backend that will not start or breaks in the probe, and measures the fallback when nothing else ran', async () => {
    const s = scripted({ wasm: 'fails', webgpu: 'breaks', cpu: { forward: 300, train: 2000 } });
    const p = await probeBackends({ candidates: ['wasm', 'webgpu'], fallback: 'cpu', key: 'k', ...s });
    expect(p.backends[0]).toMatchObject({ name: 'wasm', failed: 'wasm cannot start here' });
    expect(p.backends[1]).toMatchObject({ name: 'webgpu', failed: 'it started but failed the probe: shader compilation failed' });
    expect(p.backends[2]).toMatchObject({ name: 'cpu', forwardMs: { 64: 300, 128: 1200 }, trainStepMs: 2000 });
    expect(s.calls).toContain('webgpu disposed');
    expect(chooseBackend(p, { kind: 'training' }).name).toBe('cpu');
  });
});

describe('the real probe in Node', () => {
  it('times wasm, records why webgpu cannot start, and leaves no tensors', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const p = await probeBackends({ candidates: ['wasm', 'webgpu'], fallback: 'cpu', key: 'node' });
    expect(tf.memory().numTensors).toBe(before);
    const wasm = p.backends.find((f) => f.name === 'wasm')!;
    expect(wasm.described).toMatch(/^wasm/);
    for (const t of [wasm.forwardMs[64], wasm.forwardMs[128], wasm.trainStepMs!]) expect(t).toBeGreaterThan(0);
    expect(p.backends.find((f) => f.name === 'webgpu')!.failed).toMatch(/navigator\.gpu/);
    expect(p.backends.find((f) => f.name === 'cpu')!.stopped).toMatch(/fallback/);
    expect(p.macs[64]).toBeGreaterThan(1e7);
    expect(p.macs[128]).toBe(4 * p.macs[64]);
    expect(chooseBackend(p, { kind: 'training' }).name).toBe('wasm');
  }, 60_000);
});
