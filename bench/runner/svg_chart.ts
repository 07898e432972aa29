/**
 * Hand-written SVG charts for the benchmark report: horizontal bar charts (ratios, costs, with
 * optional error whiskers and a reference line) and line charts (scaling curves, optional log
 * axes). No DOM and no dependency: the output is a string of standalone SVG 1.1.
 */

/** One bar. `error` is a ± half-width drawn as a whisker. */
export interface Bar {
  label: string;
  value: number;
  error?: number;
}

/** A horizontal bar chart. */
export interface BarChart {
  kind: "bar";
  /** File name under bench/results/, ending in .svg. */
  file: string;
  title: string;
  /** Unit of the values, shown on the axis. */
  unit: string;
  bars: Bar[];
  /** A vertical line, e.g. 1.0 for ratios. */
  reference?: { value: number; label: string };
  /** Logarithmic value axis (costs that span orders of magnitude). */
  logScale?: boolean;
}

/** One curve of a line chart. */
export interface Series {
  name: string;
  points: [x: number, y: number][];
}

/** A line chart. */
export interface LineChart {
  kind: "line";
  file: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
}

/** Any chart. */
export type Chart = BarChart | LineChart;

const palette = ["#3366cc", "#dc3912", "#109618", "#ff9900", "#990099", "#0099c6"];

/** Escapes text for an SVG text node or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A short label for an axis value: 1.5k, 2M, 0.25. */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${+(value / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  if (abs === 0) return "0";
  return `${+value.toPrecision(3)}`;
}

/** Tick positions for [min, max]: "nice" linear steps, or powers of ten on a log axis. */
export function ticks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      out.push(10 ** e);
    }
    return out;
  }
  const span = max - min || Math.abs(max) || 1;
  const raw = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) {
    out.push(+v.toPrecision(12));
  }
  if (out[out.length - 1]! < max) out.push(+(out[out.length - 1]! + step).toPrecision(12));
  return out;
}

function scale(domain: [number, number], range: [number, number], log: boolean) {
  const f = log ? Math.log10 : (v: number) => v;
  const [d0, d1] = [f(domain[0]), f(domain[1])];
  return (v: number) => range[0] + ((f(v) - d0) / (d1 - d0 || 1)) * (range[1] - range[0]);
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${
      escapeXml(title)
    }</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** Renders a horizontal bar chart. */
export function renderBarChart(chart: BarChart): string {
  const labelWidth = Math.min(
    320,
    12 + 6.5 * Math.max(8, ...chart.bars.map((b) => b.label.length)),
  );
  const width = labelWidth + 420;
  const barHeight = 22;
  const top = chart.reference === undefined ? 36 : 48; // room for the reference line's label
  const plotRight = width - 60;
  const height = top + chart.bars.length * (barHeight + 6) + 44;
  const finite = chart.bars.filter((b) => Number.isFinite(b.value) && b.value > 0);
  const maxValue = Math.max(
    chart.reference?.value ?? 0,
    ...finite.map((b) => b.value + (b.error ?? 0)),
    1e-12,
  );
  const log = chart.logScale === true && finite.length > 0;
  const minValue = log ? Math.min(...finite.map((b) => b.value)) / 2 : 0;
  const axisTicks = ticks(log ? minValue : 0, maxValue, log);
  const domain: [number, number] = [axisTicks[0]!, axisTicks[axisTicks.length - 1]!];
  const x = scale(domain, [labelWidth, plotRight], log);
  const body: string[] = [];
  const axisY = top + chart.bars.length * (barHeight + 6);
  for (const t of axisTicks) {
    const tx = x(t).toFixed(1);
    body.push(
      `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${axisY}" stroke="#e0e0e0"/>`,
      `<text x="${tx}" y="${axisY + 14}" text-anchor="middle" fill="#555">${formatTick(t)}</text>`,
    );
  }
  body.push(
    `<text x="${(labelWidth + plotRight) / 2}" y="${axisY + 32}" text-anchor="middle" fill="#333">${
      escapeXml(chart.unit)
    }${log ? " (log scale)" : ""}</text>`,
  );
  chart.bars.forEach((bar, i) => {
    const y = top + i * (barHeight + 6);
    body.push(
      `<text x="${labelWidth - 8}" y="${y + barHeight * 0.7}" text-anchor="end">${
        escapeXml(bar.label)
      }</text>`,
    );
    if (!Number.isFinite(bar.value) || (log && bar.value <= 0)) {
      body.push(`<text x="${labelWidth + 4}" y="${y + barHeight * 0.7}" fill="#999">n/a</text>`);
      return;
    }
    const x0 = x(domain[0]);
    const x1 = x(Math.max(domain[0], bar.value));
    body.push(
      `<rect x="${x0.toFixed(1)}" y="${y}" width="${
        Math.max(0.5, x1 - x0).toFixed(1)
      }" height="${barHeight}" fill="${palette[0]}"/>`,
    );
    if (bar.error !== undefined && bar.error > 0) {
      const lo = x(Math.max(domain[0], bar.value - bar.error));
      const hi = x(Math.min(domain[1], bar.value + bar.error));
      const cy = y + barHeight / 2;
      body.push(
        `<path d="M${lo.toFixed(1)} ${cy}H${hi.toFixed(1)}M${lo.toFixed(1)} ${cy - 5}v10M${
          hi.toFixed(1)
        } ${cy - 5}v10" stroke="#222" fill="none"/>`,
      );
    }
    // The value sits just past the bar's end, or inside it (white, right-aligned) when the bar
    // reaches too far right for the text to fit beside it.
    const inside = x1 > plotRight - 50 && x1 - x0 > 50;
    body.push(
      `<text x="${(inside ? x1 - 4 : x1 + 4).toFixed(1)}" y="${y + barHeight * 0.7}"${
        inside ? ' text-anchor="end" fill="#fff"' : ' fill="#222"'
      }>${formatTick(bar.value)}</text>`,
    );
  });
  if (chart.reference !== undefined) {
    const rx = x(chart.reference.value).toFixed(1);
    body.push(
      `<line x1="${rx}" y1="${
        top - 6
      }" x2="${rx}" y2="${axisY}" stroke="#dc3912" stroke-dasharray="4 3"/>`,
      `<text x="${rx}" y="${top - 8}" text-anchor="middle" fill="#dc3912">${
        escapeXml(chart.reference.label)
      }</text>`,
    );
  }
  return frame(width, height, chart.title, body);
}

/** Renders a line chart with a legend. */
export function renderLineChart(chart: LineChart): string {
  const width = 640;
  const height = 380;
  const left = 70;
  const right = width - 150;
  const top = 36;
  const bottom = height - 50;
  const points = chart.series.flatMap((s) => s.points).filter(([px, py]) =>
    Number.isFinite(px) && Number.isFinite(py) && (!chart.logX || px > 0) &&
    (!chart.logY || py > 0)
  );
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const logX = chart.logX === true;
  const logY = chart.logY === true;
  const xTicks = points.length ? ticks(Math.min(...xs), Math.max(...xs), logX) : [0, 1];
  const yTicks = points.length
    ? ticks(logY ? Math.min(...ys) : Math.min(0, ...ys), Math.max(...ys), logY)
    : [0, 1];
  const x = scale([xTicks[0]!, xTicks[xTicks.length - 1]!], [left, right], logX);
  const y = scale([yTicks[0]!, yTicks[yTicks.length - 1]!], [bottom, top], logY);
  const body: string[] = [];
  for (const t of xTicks) {
    body.push(
      `<line x1="${x(t).toFixed(1)}" y1="${top}" x2="${
        x(t).toFixed(1)
      }" y2="${bottom}" stroke="#e0e0e0"/>`,
      `<text x="${x(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" fill="#555">${
        formatTick(t)
      }</text>`,
    );
  }
  for (const t of yTicks) {
    body.push(
      `<line x1="${left}" y1="${y(t).toFixed(1)}" x2="${right}" y2="${
        y(t).toFixed(1)
      }" stroke="#e0e0e0"/>`,
      `<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${
        formatTick(t)
      }</text>`,
    );
  }
  body.push(
    `<text x="${(left + right) / 2}" y="${height - 14}" text-anchor="middle">${
      escapeXml(chart.xLabel)
    }${logX ? " (log)" : ""}</text>`,
    `<text x="16" y="${(top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${
      (top + bottom) / 2
    })">${escapeXml(chart.yLabel)}${logY ? " (log)" : ""}</text>`,
  );
  chart.series.forEach((series, i) => {
    const color = palette[i % palette.length]!;
    const valid = series.points.filter(([px, py]) =>
      Number.isFinite(px) && Number.isFinite(py) && (!logX || px > 0) && (!logY || py > 0)
    );
    if (valid.length > 0) {
      const d = valid.map(([px, py], k) =>
        `${k === 0 ? "M" : "L"}${x(px).toFixed(1)} ${y(py).toFixed(1)}`
      ).join("");
      body.push(`<path d="${d}" stroke="${color}" stroke-width="2" fill="none"/>`);
      for (const [px, py] of valid) {
        body.push(
          `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${color}"/>`,
        );
      }
    }
    const ly = top + 10 + i * 18;
    body.push(
      `<line x1="${right + 12}" y1="${ly}" x2="${
        right + 32
      }" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${right + 36}" y="${ly + 4}">${escapeXml(series.name)}</text>`,
    );
  });
  return frame(width, height, chart.title, body);
}

/** Renders any chart. */
export function renderChart(chart: Chart): string {
  return chart.kind === "bar" ? renderBarChart(chart) : renderLineChart(chart);
}
