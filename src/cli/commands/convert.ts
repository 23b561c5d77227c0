/** `alap convert`: a model rewritten in another format, checked by running both. */
import { EXPORT_FORMATS } from '../../core/io/formats';
import { exportFormat, int, UsageError, type Values, modelArg } from '../args';
import { nodeBackend, startBackend } from '../backend';
import { readModelDir, readModelInfo, writeModelDir } from '../model-dir';

/** Rewrites a model (tfjs Layers folder or .onnx file) in another format, checked by running both. */
export async function convert(positionals: string[], values: Values) {
  if (!values.to) throw new UsageError(`convert needs --to ${EXPORT_FORMATS.join('|')}`);
  if (!values.out) throw new UsageError('convert needs --out <dir>');
  const format = exportFormat(values.to, 'to');
  await startBackend(nodeBackend(values));
  const source = modelArg(positionals);
  const model = await readModelDir(source);
  const info = await readModelInfo(source).catch(() => null);
  const inputRange = values['input-range'] ?? (typeof info?.inputRange === 'string' ? info.inputRange : '-1,1');
  const files = await writeModelDir(model, values.out, {}, { force: values.force, format, inputRange, size: int(values, 'size') });
  console.log(`wrote ${format} of ${source} (${model.countParams()} params) to ${values.out}: ${files.join(', ')}`);
}
