/** Every `doppel` sub-command, in the order `--help` lists them. */
import type { Command } from 'commander';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [];
