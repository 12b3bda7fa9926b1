// Peoplevox pushes events to callback URLs registered with SubscribeEvent. Peoplevox has no "list
// subscriptions" operation, so we remember what we registered for this public URL and register once.
// Every callback URL carries the deployment's secret in its path (Peoplevox signs nothing), and values
// are URL-encoded by Peoplevox (encodeParameterData), docs/security.md.
import type { Runtime } from './runtime';
import { callbackSecret } from '../src/inventory/intake';
import { peoplevoxCallbackUrl } from '../src/http/callbacks';

/** The TrackingNumberReceived callback URL: the placeholders Peoplevox substitutes, in our parameter names. */
export function trackingCallbackUrl(publicUrl: string, secret: string): string {
  return peoplevoxCallbackUrl(
    publicUrl,
    secret,
    'tracking',
    'despatch={DespatchNumber}&tn={TrackingNumber}&carrier={Carrier.Number}&order={Picks.SalesOrder.SalesOrderNumber}',
  );
}

export async function subscribeWarehouseEvents(runtime: Runtime, publicUrl: string): Promise<number[]> {
  const ids: number[] = [];
  try {
    const tracking = trackingCallbackUrl(publicUrl, callbackSecret(runtime.config));
    ids.push(await runtime.peoplevox.subscribeEvent('TrackingNumberReceived', tracking, { encodeParameterData: true }));
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
