import type { Command } from 'commander';
import { registerServe } from './serve';

export type RegisterCommand = (program: Command) => void;

/** Every sub-command, one file each. Add a line here when you add a command. */
export const COMMANDS: RegisterCommand[] = [registerServe];
