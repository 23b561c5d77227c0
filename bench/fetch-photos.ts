/**
 * Photographs for training, taken from Debian packages that ship them (training time only: the
 * app and the CLI never download anything). Each package is fetched with `apt-get download`
 * (no installation), unpacked with `dpkg-deb -x`, and the chosen photos are copied into
 * <out>/<package>__<file> with <out>/sources.json recording package, version, path inside the
 * package and the licence terms the package states (its copyright file is copied next to them).
 *
 *   npx tsx bench/fetch-photos.ts [--out scratch/photos] [--debs scratch/photo-debs]
 *
 * Photo held out of training for evaluation: see HELD_OUT (faces and scenes never trained on).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { log } from './common';

interface Source {
  package: string;
  /** Folders inside the package, and which of their files are photographs (not drawings, charts, test patterns). */
  dirs: { dir: string; files: RegExp }[];
  licence: string;
}

// Chosen by looking at every image the packages ship (contact sheets): photographs only.
export const SOURCES: Source[] = [
  { package: 'python-matplotlib-data', dirs: [{ dir: 'usr/share/matplotlib/mpl-data/sample_data', files: /^grace_hopper\.jpg$/ }], licence: 'US Navy photograph of Grace Hopper: public domain (package: matplotlib licence)' },
  { package: 'python3-skimage', dirs: [{ dir: 'usr/lib/python3/dist-packages/skimage/data', files: /^(astronaut|chelsea|coffee|motorcycle_left|rocket|camera)\.(png|jpg)$/ }], licence: 'per-image terms in skimage/data/_fetchers.py: NASA public domain (astronaut, rocket), CC0 (chelsea, coffee), Middlebury stereo data (motorcycle), public domain (camera); package BSD-3-Clause' },
  { package: 'python3-sklearn', dirs: [{ dir: 'usr/lib/python3/dist-packages/sklearn/datasets/images', files: /^(china|flower)\.jpg$/ }], licence: 'CC-BY-2.0 (README.txt next to the images)' },
  { package: 'kphotoalbum', dirs: [{ dir: 'usr/share/kphotoalbum/demo', files: /^(?!qt-logo).*\.jpg$/ }], licence: 'demo photographs of the KPhotoAlbum project, GPL-2+ (package copyright)' },
  { package: 'visp-images-data', dirs: [{ dir: 'usr/share/visp-images-data/ViSP-images/Solvay', files: /^Solvay_conference_1927_Version2_1280x880\.jpg$|^Solvay_conference_1927_Version2_2126x1463\.jpg$/ }], licence: '1927 Solvay conference photograph (Benjamin Couprie): public domain; package GPL-2' },
  { package: 'opencv-doc', dirs: [{ dir: 'usr/share/doc/opencv-doc/examples/data', files: /^(aero1|aero3|apple|baboon|building|butterfly|fruits|home|leuvenA|leuvenB|messi5|orange|squirrel_cls|stuff|basketball1|graf1|HappyFish|board|smarties|pic1|pic3|pic5|box_in_scene|rubberwhale1|aloeL|ela_original|chicky_512|blox)\.(jpg|png)$/ }], licence: 'OpenCV sample data, Apache-2.0 / BSD-3-Clause (package copyright)' },
  { package: 'mate-backgrounds', dirs: [{ dir: 'usr/share/backgrounds/mate/nature', files: /\.jpg$/ }], licence: 'GPL-2+ per file (debian/copyright)' },
  { package: 'lomiri-wallpapers-16.04', dirs: [{ dir: 'usr/share/backgrounds', files: /^(?!analogpattern).*\.jpg$/ }], licence: 'per file CC-BY-4.0, CC-BY-SA-4.0 or CC0 (debian/copyright names each)' },
  { package: 'plasma-workspace-wallpapers', dirs: ['Autumn', 'BytheWater', 'ColdRipple', 'EveningGlow', 'FallenLeaf', 'Grey', 'Kite', 'OneStandsOut', 'Path', 'summer_1am'].map((n) => ({ dir: `usr/share/wallpapers/${n}/contents/images`, files: /^2560x1600\.jpg$/ })), licence: 'GPL-2+ (debian/copyright); each wallpaper metadata says LGPL-3' },
];

/** Photos kept out of training, for evaluation (two faces among them). */
export const HELD_OUT = [
  'python3-skimage__astronaut.png',
  'kphotoalbum__jesper_2.jpg',
  'python3-sklearn__china.jpg',
  'opencv-doc__fruits.jpg',
  'opencv-doc__building.jpg',
  'mate-backgrounds__LadyBird.jpg',
  'lomiri-wallpapers-16.04__Bridge_by_Sander_Klootwijk.jpg',
  'plasma-workspace-wallpapers__Kite__2560x1600.jpg',
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, debs: { type: 'string' } } });
  const out = path.resolve(values.out ?? 'scratch/photos');
  const debs = path.resolve(values.debs ?? 'scratch/photo-debs');
  mkdirSync(out, { recursive: true });
  mkdirSync(debs, { recursive: true });
  const records: object[] = [];
  for (const source of SOURCES) {
    const have = readdirSync(debs).find((f) => f.startsWith(`${source.package}_`) && f.endsWith('.deb'));
    if (!have) {
      log(`apt-get download ${source.package}`);
      execFileSync('apt-get', ['download', source.package], { cwd: debs, stdio: 'inherit' });
    }
    const deb = path.join(debs, readdirSync(debs).find((f) => f.startsWith(`${source.package}_`) && f.endsWith('.deb'))!);
    const version = execFileSync('dpkg-deb', ['-f', deb, 'Version']).toString().trim();
    const unpacked = path.join(debs, 'x', source.package);
    if (!existsSync(unpacked)) {
      mkdirSync(unpacked, { recursive: true });
      execFileSync('dpkg-deb', ['-x', deb, unpacked]);
    }
    const copyright = path.join(unpacked, 'usr/share/doc', source.package, 'copyright');
    if (existsSync(copyright)) copyFileSync(copyright, path.join(out, `${source.package}.copyright`));
    let n = 0;
    for (const { dir, files } of source.dirs) {
      const full = path.join(unpacked, dir);
      if (!existsSync(full)) throw new Error(`${source.package} ${version} has no ${dir}`);
      for (const file of readdirSync(full).filter((f) => files.test(f)).sort()) {
        if (lstatSync(path.join(full, file)).isSymbolicLink()) continue;
        const extra = source.package === 'plasma-workspace-wallpapers' ? `${dir.split('/')[3]}__` : '';
        const name = `${source.package}__${extra}${file}`;
        copyFileSync(path.join(full, file), path.join(out, name));
        records.push({ file: name, package: source.package, version, path: `/${dir}/${file}`, licence: source.licence, heldOut: HELD_OUT.includes(name) });
        n++;
      }
    }
    log(`${source.package} ${version}: ${n} photos`);
  }
  const missing = HELD_OUT.filter((h) => !records.some((r) => (r as { file: string }).file === h));
  if (missing.length) throw new Error(`held-out photos not found: ${missing.join(', ')}`);
  writeFileSync(path.join(out, 'sources.json'), JSON.stringify(records, null, 2));
  log(`${records.length} photos (${HELD_OUT.length} held out) in ${out}; sources and licences in sources.json`);
}

/** The photos of a fetched folder with their sources, split into training and held-out. */
export function readPhotoSources(dir: string): { train: string[]; heldOut: string[]; sources: { file: string; package: string; version: string; licence: string }[] } {
  const sources = JSON.parse(readFileSync(path.join(dir, 'sources.json'), 'utf8'));
  const files = sources.map((s: { file: string }) => s.file);
  return { train: files.filter((f: string) => !HELD_OUT.includes(f)), heldOut: files.filter((f: string) => HELD_OUT.includes(f)), sources };
}
