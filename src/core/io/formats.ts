/**
 * The formats a model leaves alap in, as named files: tfjs graph model (model.json + weights.bin
 * that plain tf.loadGraphModel runs: for deployment), tfjs Layers (needs alap's layer classes: for
 * further work here) and ONNX (model.onnx: onnxruntime, PyTorch tooling). Each comes with a
 * README.md that shows how to load and run it.
 */
import type * as tf from '@tensorflow/tfjs';
import { strToU8, zipSync } from 'fflate';
import { toGraphModelFiles } from './graph-model';
import { saveModelToFiles } from './model-files';
import { toOnnx } from './onnx-export';

export const EXPORT_FORMATS = ['tfjs-graph', 'tfjs-layers', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportInfo {
  /** Value range of the model's images, e.g. '-1,1'. */
  inputRange: string;
  /** Input size the model was compressed or trained at (it runs at others too). */
  size?: number;
  /** Weight precision of graph-model and ONNX files (float16: half the size). */
  weights?: 'float32' | 'float16';
}

/** File name -> contents of the model in `format`, README.md included. */
export async function modelFilesIn(model: tf.LayersModel, format: ExportFormat, info: ExportInfo): Promise<Map<string, Uint8Array | string>> {
  const files = new Map<string, Uint8Array | string>();
  if (format === 'onnx') {
    files.set('model.onnx', toOnnx(model, { weights: info.weights, metadata: { input_range: info.inputRange, ...(info.size && { size: String(info.size) }) } }));
  } else {
    const tfjs = format === 'tfjs-graph' ? toGraphModelFiles(model, { weights: info.weights }) : await saveModelToFiles(model);
    files.set('model.json', tfjs.modelJson);
    for (const [name, bytes] of tfjs.shards) files.set(name, bytes);
  }
  files.set('README.md', readme(model, format, info));
  return files;
}

/**
 * The same files as one .zip (`mtime`: the date every entry carries; fixed, the bytes are the same
 * on every run).
 */
export async function modelZip(model: tf.LayersModel, format: ExportFormat, info: ExportInfo, mtime?: Date): Promise<Uint8Array> {
  const files = await modelFilesIn(model, format, info);
  return zipSync(Object.fromEntries([...files].map(([name, data]) => [name, typeof data === 'string' ? strToU8(data) : data])), mtime ? { mtime } : {});
}

function readme(model: tf.LayersModel, format: ExportFormat, info: ExportInfo): string {
  const channels = model.inputs[0].shape[3];
  const outChannels = model.outputs[0].shape[3];
  const size = info.size ?? 256;
  const [lo, hi] = info.inputRange.split(',');
  const head = [
    `# ${model.name}`,
    '',
    `Image-to-image model exported by alap. Input: ${channels} channels, output: ${outChannels} channels, values in [${lo}, ${hi}]`,
    `(scale pixels 0..255 to that range before, and back after). Compressed/trained at ${size}x${size}; other sizes run too.`,
    '',
  ];
  if (format === 'onnx') {
    return [
      ...head,
      'ONNX, opset 17, NCHW float32 input `input` [batch, channels, height, width] and output `output`, batch and size dynamic.',
      '',
      '```js',
      "import * as ort from 'onnxruntime-web';",
      "const session = await ort.InferenceSession.create('model.onnx');",
      `const pixels = new Float32Array(1 * ${channels} * ${size} * ${size}); // your image here: NCHW, values in [${lo}, ${hi}]`,
      `const x = new ort.Tensor('float32', pixels, [1, ${channels}, ${size}, ${size}]);`,
      'const { output } = await session.run({ input: x });',
      '```',
      '',
    ].join('\n');
  }
  if (format === 'tfjs-graph') {
    return [
      ...head,
      'tfjs graph model (NHWC, any batch and size): runs with plain @tensorflow/tfjs, no alap code.',
      '',
      '```js',
      "import * as tf from '@tensorflow/tfjs';",
      "const model = await tf.loadGraphModel('model.json');",
      `const y = model.predict(tf.zeros([1, ${size}, ${size}, ${channels}])); // NHWC, values in [${lo}, ${hi}]`,
      '```',
      '',
    ].join('\n');
  }
  return [
    ...head,
    'tfjs Layers model (NHWC). It uses alap\'s layer classes (ReflectionPadding2D, EdgePadding2D, InstanceNormalization): load it in alap, or',
    'register those classes first; for deployment without alap take the graph model or the ONNX export.',
    '',
    '```js',
    "const model = await tf.loadLayersModel('model.json');",
    `const y = model.predict(tf.zeros([1, ${size}, ${size}, ${channels}])); // NHWC, values in [${lo}, ${hi}]`,
    '```',
    '',
  ].join('\n');
}
