// Peoplevox pushes events to callback URLs registered with SubscribeEvent. Peoplevox has no "list
// subscriptions" operation, so we remember what we registered for this public URL and register once.
import type { Runtime } from './runtime';

export async function subscribeWarehouseEvents(runtime: Runtime, publicUrl: string): Promise<number[]> {
  const tracking = `${publicUrl}/webhooks/peoplevox/tracking?despatch={DespatchNumber}&tn={TrackingNumber}&carrier={Carrier.Number}&order={Picks.SalesOrder.SalesOrderNumber}`;
  const ids: number[] = [];
  try {
    ids.push(await runtime.peoplevox.subscribeEvent('TrackingNumberReceived', tracking));
    runtime.log.info({ subscriptions: ids }, 'subscribed to Peoplevox events');
  } catch (err) {
    // The despatch backstop still finds every despatch; say so rather than stop.
    runtime.log.warn(
      { err: (err as Error).message },
      'could not subscribe to Peoplevox events; relying on the despatch backstop',
    );
  }
  return ids;
}
