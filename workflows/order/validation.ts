// Phase 2, validate: once the marketplace lets us ship (debit done, addresses visible), check the order against
// the channel's rules and map every line to its item code. Problems park the order with the first as its reason.
import { initialProgress } from '../../src/domain/despatch';
import { itemCodes } from './acceptance';
import { ValidationProblems } from './failures';
import type { OrderRun } from './run';

export async function validate(run: OrderRun): Promise<void> {
  const { state } = run;
  const codes = await itemCodes(run);
  state.lines = initialProgress(run.liveLines(), (sku) => codes[sku] ?? sku);
  await run.step('validate', async () => {
    const problems = await run.lookups.validateOrder({ channel: state.channel, order: run.order });
    if (problems.length > 0) throw new ValidationProblems(problems);
    // A retry after a mapping fix must pick up the new item codes.
    const codes = await run.lookups.resolveItemCodes({
      channel: state.channel,
      offerSkus: run.order.lines.map((l) => l.offerSku),
    });
    state.lines = initialProgress(run.liveLines(), (sku) => codes[sku] ?? sku);
  });
  run.setStatus('VALIDATED');
}
