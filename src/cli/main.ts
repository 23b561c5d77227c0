/**
 * `alap`: the studio's core, headless. Commands (one file each in commands/): create, inspect,
 * prune, bench, compress, train, data, run, convert, backends.
 * Errors from bad input end in one sentence on stderr and exit code 1.
 */
import * as tf from '@tensorflow/tfjs';
import { modelArg, parse, UsageError } from './args';
import { create } from './commands/create';
import { inspect } from './commands/inspect';
import { bench } from './commands/bench';
import { prune } from './commands/prune';
import { compress } from './commands/compress';
import { train } from './commands/train';
import { dataFromPhotos, makeData } from './commands/data';
import { runModel } from './commands/run';
import { convert } from './commands/convert';
import { backends } from './commands/backends';

const USAGE = `Usage:
  alap create --arch resnet|unet|globalgen --out <dir> [--ngf N] [--blocks N] [--size N|any]
              [--in-channels N] [--out-channels N] [--seed N] [--force]
  alap convert <model.json|dir|model.onnx> --to tfjs-graph|tfjs-layers|onnx --out <dir> [--input-range -1,1|0,1|0,255] [--size N] [--force]
              (the model in another format, with a README.md showing how to load and run it)
  alap inspect <model.json|dir|model.onnx> [--size N] [--json]
  alap prune <model.json|dir|model.onnx> --budget macs=0.25|params=0.5|threshold=1e-3 --out <dir>
             [--size N] [--backend auto|wasm|cpu] [--runs N] [--force]
  alap bench <model.json|dir|model.onnx> [--size N] [--backend auto|wasm|cpu] [--runs N] [--warmup N] [--layers]
  alap compress --model <model.json|dir|model.onnx> --data <dir> [--targets <dir> | --side-by-side AtoB|BtoA] --out <dir>
                [--format tfjs-layers|tfjs-graph|onnx]
                (targets matched to inputs by file name, extension ignored; --side-by-side: --data holds
                 pix2pix-style AB images, AtoB takes the left half as the input)
                [--input-range -1,1|0,1|0,255] [--size 128] [--budget macs=0.25|params=0.5|threshold=T|fps=30[@256]]
                [--steps condense=N,distill=M] [--teacher condensed|original] [--sparsity S]
                [--lr condense=..,distill=..] [--batch N] [--held-out N] [--seed N] [--backend auto|wasm|cpu]
                [--loss output=1,ssim=0,feature=0,groundTruth=0,adversarial=0] [--pixel-loss l1|mse] [--label-classes K]
                [--flip yes|no] [--jitter 0.125] [--spec run.json] [--checkpoint-every N] [--force]
                [--time S] [--selection importance|magnitude] [--compensate yes|no] [--teacher-cache N]
                [--channel-multiple N]
                (--channel-multiple: keep pruned layers' channels at multiples of N; 8 suits tfjs-wasm)
                (--time: wall time of the whole run, distillation takes what is left; default 1.5x the
                 base's training time when its info.json records it and no --steps are given)
  alap compress --preset mask-to-face|face-to-cartoon|unpaired --out <dir> [--count N] [options above]
                (the shipped base model on generated data, kept in <out>-data)
  alap compress --resume <checkpoint dir>
  alap data --out <dir> [--task shapes|mask-to-face|face-to-cartoon|unpaired] [--count 40] [--size 128] [--seed N]
  alap data --task face-to-cartoon --from <folder of photos> --out <dir> [--size 256]
            (each photo centre-cropped and resized; its target is the cartoon filter's output)
  alap run <model.json|dir|model.onnx> --data <image folder> --out <dir> [--size N] [--input-range -1,1|0,1|0,255]
           (the model's output for every image, as PNGs of the same names)
  alap train --arch resnet|unet|globalgen --data <dir> --targets <dir>|--side-by-side AtoB|BtoA --out <dir>
             [--size 128] [--steps N] [--ngf N] [--blocks N] [--lr R] [--batch N] [--seed N]
             [--loss output=1,ssim=0.2,adversarial=0] [--label-classes K] [--flip yes|no] [--jitter F]
  alap train --preset mask-to-face|face-to-cartoon|unpaired --out <dir> [--count N] [--steps N] [--size N]
             (unpaired trains a CycleGAN: two generators, two discriminators, cycle + identity losses)
  alap train --resume <dir>
  alap backends [<model.json|dir|model.onnx>] [--size N]
             (measures wasm and cpu as the studio's probe does; which auto picks for training, and for the model)

--label-classes K: the inputs are label maps (grey value = class index < K), drawn in the label palette.
Every run writes the model (model.json + weights.bin; --format tfjs-graph: a graph model that plain
tf.loadGraphModel runs; --format onnx: model.onnx), README.md, report.json and samples.png
(held-out images, one row each).`;

export async function main(argv: string[]): Promise<number> {
  // Silences tfjs's "install tfjs-node" banner: the native backend cannot be installed offline.
  tf.env().set('PROD', true);
  try {
    const { values, positionals } = parse(argv);
    const command = positionals[0];
    if (values.help || !command) {
      console.log(USAGE);
      return values.help ? 0 : 1;
    }
    if (command === 'create') await create(values);
    else if (command === 'inspect') await inspect(positionals, values);
    else if (command === 'bench') await bench(positionals, values);
    else if (command === 'prune') await prune(positionals, values);
    else if (command === 'compress') await compress(values);
    else if (command === 'train') await train(values);
    else if (command === 'data') await (values.from ? dataFromPhotos(values) : makeData(values));
    else if (command === 'run') await runModel(modelArg(positionals), values);
    else if (command === 'convert') await convert(positionals, values);
    else if (command === 'backends') await backends(positionals[1], values);
    else throw new UsageError(`Unknown command '${command}'`);
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(`alap: ${err.message}`);
    if (e instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
    if (process.env.ALAP_DEBUG) console.error(err.stack);
    return 1;
  }
}
