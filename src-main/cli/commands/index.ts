/** Every `doppel` sub-command, in the order `--help` lists them. */
import type { Command } from 'commander';
import { register as registerScan } from './scan';
import { register as registerGroups } from './groups';
import { register as registerServe } from './serve';
import { register as registerPlan } from './plan';
import { register as registerApply } from './apply';
import { register as registerUndo } from './undo';
import { register as registerLabel } from './label';
import { register as registerTrain } from './train';
import { register as registerHead } from './head';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerScan,
  registerGroups,
  registerServe,
  registerPlan,
  registerApply,
  registerUndo,
  registerLabel,
  registerTrain,
  registerHead,
];
