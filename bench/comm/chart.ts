// SVG line chart of held-out accuracy against seconds since the first update, one line per run,
// one colour per system, written without any charting library.
import type { RunResult } from './runs';

const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { left: 60, right: 170, top: 40, bottom: 50 };
const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Returns a tick step of 1, 2 or 5 times a power of ten that gives about `count` ticks. */
function tickStep(range: number, count: number): number {
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const multiple = [1, 2, 5, 10].find((m) => m * power >= raw) ?? 10;
  return multiple * power;
}

/** Renders the runs as an SVG document, with a dashed line at `target`. */
export function accuracyChart(runs: readonly RunResult[], target: number, title: string): string {
  const points = runs.flatMap((r) => r.curve);
  const maxS = Math.max(1, ...points.map((p) => p.s));
  const minTop1 = Math.min(target, ...points.map((p) => p.top1));
  const yLow = Math.max(0, Math.floor(minTop1 * 20) / 20);
  const yHigh = 1;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (s: number) => MARGIN.left + (Math.max(0, s) / maxS) * plotWidth;
  const y = (top1: number) => MARGIN.top + ((yHigh - top1) / (yHigh - yLow)) * plotHeight;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2 - MARGIN.right / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  const xStep = tickStep(maxS, 8);
  for (let s = 0; s <= maxS + 1e-9; s += xStep) {
    parts.push(
      `<line x1="${x(s)}" y1="${MARGIN.top}" x2="${x(s)}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`,
      `<text x="${x(s)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${Number(s.toFixed(2))}</text>`
    );
  }
  const yStep = tickStep(yHigh - yLow, 6);
  for (let v = yLow; v <= yHigh + 1e-9; v += yStep) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y(v)}" x2="${MARGIN.left + plotWidth}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v * 100)}%</text>`
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`,
    `<line x1="${MARGIN.left}" y1="${y(target)}" x2="${MARGIN.left + plotWidth}" y2="${y(target)}" stroke="#555" stroke-dasharray="6 4"/>`,
    `<text x="${MARGIN.left + plotWidth - 4}" y="${y(target) - 5}" text-anchor="end" fill="#555">target ${Math.round(target * 100)}%</text>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 12}" text-anchor="middle">seconds since the first update</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">held-out top-1 accuracy</text>`
  );

  const systems = [...new Set(runs.map((r) => r.system))];
  for (const run of runs) {
    const colour = COLOURS[systems.indexOf(run.system) % COLOURS.length]!;
    const path = run.curve
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.s).toFixed(1)},${y(p.top1).toFixed(1)}`)
      .join(' ');
    if (path) {
      parts.push(
        `<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.5" opacity="0.8"/>`
      );
    }
  }
  systems.forEach((system, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const legendY = MARGIN.top + 10 + i * 20;
    const legendX = MARGIN.left + plotWidth + 16;
    parts.push(
      `<line x1="${legendX}" y1="${legendY}" x2="${legendX + 24}" y2="${legendY}" stroke="${colour}" stroke-width="3"/>`,
      `<text x="${legendX + 30}" y="${legendY + 4}">${escapeXml(system)}</text>`
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
