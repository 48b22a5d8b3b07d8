// Formats a union weight exactly as Finagle does: Java's `"%.2f".format(w)`, which rounds the
// shortest decimal form of the double HALF_UP (so 1.005 → "1.01", where JS toFixed gives "1.00").

/** Expands a JS number's shortest decimal form into [sign, integer digits, fraction digits]. */
function decimalDigits(x: number): [string, string, string] {
  const text = String(Math.abs(x));
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const [mantissa = '', expText] = text.split('e');
  const [intPart = '', fracPart = ''] = mantissa.split('.');
  const exp = expText === undefined ? 0 : Number(expText);
  const digits = intPart + fracPart;
  const point = intPart.length + exp; // position of the decimal point within `digits`
  if (point <= 0) return [sign, '0', '0'.repeat(-point) + digits];
  if (point >= digits.length) return [sign, digits + '0'.repeat(point - digits.length), ''];
  return [sign, digits.slice(0, point), digits.slice(point)];
}

/** Adds one unit in the last place to a string of decimal digits. */
function incrementDigits(digits: string): string {
  const out = digits.split('');
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== '9') {
      out[i] = String(Number(out[i]) + 1);
      return out.join('');
    }
    out[i] = '0';
  }
  return `1${out.join('')}`;
}

export function formatWeight(w: number): string {
  if (!Number.isFinite(w)) return Number.isNaN(w) ? 'NaN' : w > 0 ? 'Infinity' : '-Infinity';
  const [sign, intDigits, fracDigits] = decimalDigits(w);
  const padded = fracDigits.padEnd(3, '0');
  let kept = intDigits.replace(/^0+(?=\d)/, '') + padded.slice(0, 2);
  if (padded.charCodeAt(2) >= 53 /* '5' */) kept = incrementDigits(kept);
  const int = kept.slice(0, -2) || '0';
  const shown = `${int}.${kept.slice(-2)}`;
  return sign + shown; // Java keeps the sign of a negative that rounds to zero: "-0.00".
}
