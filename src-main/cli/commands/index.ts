/** Every `doppel` sub-command, in the order `--help` lists them. */
import type { Command } from 'commander';
import { register as registerScan } from './scan';
import { register as registerGroups } from './groups';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerScan, registerGroups];
