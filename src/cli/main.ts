// `loopline` — the operator CLI. Every command reads the same config as the workers (`--config` or
// LOOPLINE_CONFIG) and talks to Temporal (TEMPORAL_ADDRESS …); `--json` prints one JSON document.
// Commands live one module per area under ./commands and register themselves on the program.
import { Command } from 'commander';
import { registerOrderCommands } from './commands/orders';
import { registerReturnCommands } from './commands/returns';
import { registerExceptionCommands } from './commands/exceptions';
import { registerStockCommands } from './commands/stock';
import { registerAuditCommands } from './commands/audit';
import { registerReconciliationCommands } from './commands/reconciliation';
import { registerWebhookCommands } from './commands/webhooks';
import { registerGoLiveCommands } from './commands/golive';

export function buildProgram(): Command {
  const program = new Command('loopline')
    .description(
      'Loopline operations: orders, returns, exceptions, stock, catalogue audit, reconciliation, webhooks, go-live',
    )
    .option('-c, --config <file>', 'config file (default src/config/loopline.yaml or $LOOPLINE_CONFIG)')
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .showHelpAfterError();
  registerOrderCommands(program);
  registerReturnCommands(program);
  registerExceptionCommands(program);
  registerStockCommands(program);
  registerAuditCommands(program);
  registerReconciliationCommands(program);
  registerWebhookCommands(program);
  registerGoLiveCommands(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`loopline: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
