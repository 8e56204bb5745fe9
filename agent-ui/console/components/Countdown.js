// Seconds left until `until` (epoch ms), ticking; turns urgent in the last five seconds.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';

export function Countdown({ until }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.ceil((until - now) / 1000));
  return html`<span class=${left <= 5 ? 'countdown urgent' : 'countdown'} data-testid="offer-countdown"
    aria-label=${t('offer.seconds_left', { n: left })}>${t('offer.seconds', { n: left })}</span>`;
}
