import { supportsColor } from 'chalk';

/** A chalk colour level: 0 none, 1 basic, 2 256 colours, 3 truecolor. */
export type ColorLevel = 0 | 1 | 2 | 3;

/**
 * The colour level for the shell: FORCE_COLOR wins (`0`/`false` turn colour off), then NO_COLOR
 * (https://no-color.org: any non-empty value) turns it off, then a terminal gets what it supports.
 */
export function colorLevel(env: NodeJS.ProcessEnv, isTerminal: boolean): ColorLevel {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === 'false' || force === '0') return 0;
    if (force === '' || force === 'true') return 1;
    return Math.min(Math.max(Number.parseInt(force, 10) || 1, 0), 3) as ColorLevel;
  }
  if (env.NO_COLOR) return 0;
  if (!isTerminal) return 0;
  return supportsColor ? (Math.max(supportsColor.level, 1) as ColorLevel) : 1;
}
