// Lanes (DESIGN §2): a lane is a dtab overlay on a product's base dtab. Because later dentries win
// and a branch that binds to `~` falls back to earlier ones, a lane's version serves where it has
// ready endpoints and the product's stable version serves everywhere else.

import type { Dtab } from './dtab.js';
import { concatDtabs } from './dtab.js';

/** `base ++ overlay ++ override`: each later layer takes precedence, each earlier one is a fallback. */
export function effectiveDtab(base: Dtab, overlay?: Dtab, override?: Dtab): Dtab {
  let dtab = base;
  if (overlay !== undefined) dtab = concatDtabs(dtab, overlay);
  if (override !== undefined) dtab = concatDtabs(dtab, override);
  return dtab;
}
