// A Mirakl simulator channel for tests that start the simulator on its own (no stack): an ASOS-like shop with
// addresses visible, partial acceptance, a one-hour acceptance window and two days to ship; override what a test
// is about.
import type { MiraklSimChannel } from '../../src/sandbox/mirakl/types';

export function miraklTestChannel(
  catalogue: MiraklSimChannel['catalogue'],
  over: Partial<MiraklSimChannel> = {},
): MiraklSimChannel {
  return {
    code: 'asos',
    apiKey: 'k',
    multiShipment: true,
    partialAcceptance: true,
    hideAddressesUntilAcceptance: false,
    acceptanceWindowMs: 3_600_000,
    leadtimeToShipDays: 2,
    carriers: [],
    catalogue,
    ...over,
  };
}
