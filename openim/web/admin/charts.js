// A small SVG line chart for the dashboard: a fixed time window, one or more series, auto-scaled y axis.

const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#db2777", "#7c3aed", "#0891b2"];

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function label(value) {
  if (value >= 1000) return `${+(value / 1000).toFixed(1)}k`;
  return `${+value.toFixed(value < 10 ? 2 : 0)}`;
}

// series: [{name, color, points: [[timeMs, value|null], ...]}]; windowMs: the span shown, ending now.
export function drawLineChart(el, series, { windowMs = 120_000, now = Date.now() } = {}) {
  const width = 300, height = 110, left = 32, bottom = 14, top = 6;
  const all = series.flatMap((s) => s.points.map((p) => p[1]).filter((v) => v !== null));
  const yMax = niceMax(Math.max(0, ...all));
  const x = (t) => left + ((t - (now - windowMs)) / windowMs) * (width - left);
  const y = (v) => top + (1 - v / yMax) * (height - top - bottom);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", class: "chart" });
  for (const v of [0, yMax / 2, yMax]) {
    root.append(svg("line", { x1: left, x2: width, y1: y(v), y2: y(v), class: "grid" }));
    const text = svg("text", { x: left - 4, y: y(v) + 3, "text-anchor": "end", class: "axis" });
    text.textContent = label(v);
    root.append(text);
  }
  series.forEach((s, i) => {
    let d = "";
    let pen = "M";
    for (const [t, v] of s.points) {
      if (v === null || t < now - windowMs) { pen = "M"; continue; }
      d += `${pen}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = "L";
    }
    if (!d) return;
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const drawn = s.points.filter(([t, v]) => v !== null && t >= now - windowMs);
    if (series.length === 1 && drawn.length > 1 && pen === "L") { // one series: shade the area under it
      const first = x(drawn[0][0]).toFixed(1), last = x(drawn[drawn.length - 1][0]).toFixed(1);
      root.append(svg("path", { d: `${d}L${last},${y(0)}L${first},${y(0)}Z`, fill: color, "fill-opacity": 0.12, stroke: "none" }));
    }
    root.append(svg("path", {
      d, fill: "none", stroke: color, "stroke-width": 2, "vector-effect": "non-scaling-stroke", "stroke-linejoin": "round",
      class: "line",
    }));
  });
  el.replaceChildren(root);
}
