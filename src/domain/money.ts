// Money is integer minor units plus an ISO currency. Conversions from wire decimals happen at the edge
// (connectors) through these helpers and nowhere else.
export interface Money {
  /** Integer minor units (pence, cents). */
  amount: number;
  currency: string;
}

const ZERO_DECIMAL: ReadonlySet<string> = new Set(['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'HUF']);
const THREE_DECIMAL: ReadonlySet<string> = new Set(['BHD', 'KWD', 'OMR', 'JOD', 'TND']);

export function minorUnitExponent(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/**
 * A wire decimal (number or string, e.g. 19.99 or "19.99") to integer minor units. Rounds half away from
 * zero at the currency's precision; goes through the decimal string so 19.99 never becomes 1998.
 */
export function toMinor(value: number | string, currency: string): number {
  const exp = minorUnitExponent(currency);
  const s = typeof value === 'number' ? value.toFixed(exp + 4) : value.trim();
  if (!/^-?\d+(\.\d+)?$/.test(s)) throw new RangeError(`not a decimal amount: ${JSON.stringify(value)}`);
  const negative = s.startsWith('-');
  const [int = '0', frac = ''] = (negative ? s.slice(1) : s).split('.');
  const padded = (frac + '0'.repeat(exp + 1)).slice(0, exp + 1);
  let minor = Number(int) * 10 ** exp + Number(padded.slice(0, exp) || '0');
  if (Number(padded[exp] ?? '0') >= 5) minor += 1;
  return negative ? -minor : minor;
}

/** Integer minor units to a fixed decimal string ("19.99"), for wire formats that want decimals. */
export function fromMinor(minor: number, currency: string): string {
  if (!Number.isInteger(minor)) throw new RangeError(`minor units must be an integer, got ${minor}`);
  const exp = minorUnitExponent(currency);
  const negative = minor < 0;
  const abs = Math.abs(minor);
  const s = exp === 0 ? String(abs) : `${Math.floor(abs / 10 ** exp)}.${String(abs % 10 ** exp).padStart(exp, '0')}`;
  return negative ? `-${s}` : s;
}

/** Wire formats that want a JSON number (Mirakl). */
export function toDecimalNumber(minor: number, currency: string): number {
  return Number(fromMinor(minor, currency));
}

/** The rounding tolerance every total comparison uses: one minor unit. */
export const ROUNDING_TOLERANCE_MINOR = 1;

export function withinTolerance(a: number, b: number, tolerance = ROUNDING_TOLERANCE_MINOR): boolean {
  return Math.abs(a - b) <= tolerance;
}
