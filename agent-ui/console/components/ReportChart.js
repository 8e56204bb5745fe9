// One report row as an SVG chart of our own: bars of offered contacts per interval, the service
// level as a line over them (geometry from reports.js).
import { html } from '../html.js';
import { t } from '../i18n.js';
import { chartGeometry } from '../reports.js';

const WIDTH = 720;

/** `height` in the same units as the width of 720: a narrow tile asks for a taller one. */
export function ReportChart({ row, height = 160 }) {
  const g = chartGeometry(row, WIDTH, height);
  return html`
    <figure class="report-chart" data-testid="report-chart">
      <svg viewBox=${`0 0 ${WIDTH} ${height}`} role="img" aria-label=${t('reports.chart_label', { name: row.name })}>
        ${g.bars.map((b, i) => html`<rect key=${i} x=${b.x} y=${b.y} width=${b.width} height=${b.height} class="chart-bar"><title>${b.offered}</title></rect>`)}
        ${g.lines.map((points, i) => html`<polyline key=${`l${i}`} points=${points} class="chart-line" />`)}
        ${g.dots.map((p, i) => html`<circle key=${`d${i}`} cx=${p.x} cy=${p.y} r="5" class="chart-dot" />`)}
      </svg>
      <figcaption class="muted small-text">
        <span class="chart-key chart-key-bar"></span>${t('reports.chart_offered', { most: g.most })}
        <span class="chart-key chart-key-line"></span>${t('reports.chart_sl')}
      </figcaption>
    </figure>
  `;
}
