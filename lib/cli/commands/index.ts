import type { Command } from 'commander';
import { registerCutover, registerRollback } from './cutover';
import { registerEstimate } from './estimate';
import { registerExport } from './export';
import { registerPreflight } from './preflight';
import { registerReport } from './report';
import { registerReportOps } from './report-ops';
import { registerRun } from './run';
import { registerSchedule } from './schedule';
import { registerServe } from './serve';
import { registerStatus } from './status';
import { registerValidate } from './validate';
import { registerWatch } from './watch';

export type RegisterCommand = (program: Command) => void;

/** Every sub-command, one file each. Add a line here when you add a command. */
export const COMMANDS: RegisterCommand[] = [registerServe, registerStatus, registerReportOps, registerWatch, registerRun, registerExport, registerEstimate, registerReport, registerSchedule, registerValidate, registerPreflight, registerCutover, registerRollback];
