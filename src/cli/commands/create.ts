/** `alap create`: a new, untrained generator from the model zoo. */
import * as tf from '@tensorflow/tfjs';
import { ARCHS, buildGenerator, defaultSpec, type Arch } from '../../core/models/zoo';
import { int, UsageError, type Values } from '../args';
import { writeModelDir } from '../model-dir';

export async function create(values: Values) {
  const arch = values.arch as Arch;
  if (!ARCHS.includes(arch)) throw new UsageError(`--arch must be one of ${ARCHS.join(', ')}`);
  if (!values.out) throw new UsageError('create needs --out <dir>');
  const size = values.size === 'any' ? null : int(values, 'size', 256)!;
  const spec = defaultSpec(arch, {
    size,
    ...(values.ngf && { ngf: int(values, 'ngf') }),
    ...(values.blocks && { depth: int(values, 'blocks') }),
    ...(values['in-channels'] && { inChannels: int(values, 'in-channels') }),
    ...(values['out-channels'] && { outChannels: int(values, 'out-channels') }),
    ...(values.seed && { seed: int(values, 'seed') }),
  });
  await tf.setBackend('cpu');
  const model = buildGenerator(spec);
  const files = await writeModelDir(model, values.out, {}, { force: values.force });
  console.log(`wrote ${arch} (ngf=${spec.ngf}, depth=${spec.depth}, ${model.countParams()} params) to ${values.out}: ${files.join(', ')}`);
}
