/** What the bench scripts share: timestamped logs on stderr and --quick / full settings. */

export const log = (s: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** A numeric option: the value given, else the full run's default, or the quick run's with --quick. */
export function setting<K extends string>(values: Partial<Record<K, string | boolean>>, quick: boolean) {
  return (key: K, full: number, small: number): number => Number(values[key] ?? (quick ? small : full));
}
