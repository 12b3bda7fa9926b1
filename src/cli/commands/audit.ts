// `loopline audit …` — catalogue audit commands register here.
import type { Command } from 'commander';

export function registerAuditCommands(_program: Command): void {}
