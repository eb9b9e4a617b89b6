// The three pictures of a decision: the PD gauge against the threshold, the waterfall of the top SHAP
// contributions, and the client's place in a feature's population by outcome. Chart.js is the vendored
// UMD build (window.Chart); each chart also has a text alternative written by app.js.

const { Chart } = globalThis;
const RAISES = "#b2182b"; // red and blue stay distinct for colour-blind readers; text says the direction too
const LOWERS = "#2166ac";
const NEUTRAL = "#5f6368";
const REPAID = "#2166ac";
const DEFAULTED = "#d6604d";

const number = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });
export const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
export const formatNumber = (value) => (value === null ? "missing" : number.format(value));

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.color = "#3c4043";
Chart.defaults.font.size = 13;

function redraw(canvas, config) {
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, config);
}

/** The gauge's scale ends past the larger of PD and threshold, so both stay readable when small. */
function scaleEnd(pd, threshold) {
  return Math.min(1, Math.ceil(Math.max(2 * threshold, 1.25 * pd, 0.05) * 20) / 20);
}

export function drawGauge(gauge, pd, threshold) {
  const end = scaleEnd(pd, threshold);
  const at = (value) => `${(100 * Math.min(value, end)) / end}%`;
  gauge.style.setProperty("--threshold", at(threshold));
  gauge.style.setProperty("--pd", at(pd));
  gauge.setAttribute("aria-valuenow", String(pd));
  const side = pd >= threshold ? "at or above" : "below";
  gauge.setAttribute(
    "aria-valuetext",
    `probability of default ${percent.format(pd)}, ${side} the threshold of ${percent.format(threshold)}`,
  );
  gauge.querySelector(".gauge-end").textContent = percent.format(end);
  gauge.querySelector(".gauge-threshold-label").textContent = `threshold ${percent.format(threshold)}`;
}

/** Floating bars from the average client's log-odds to this client's, one step per top contribution. */
export function drawWaterfall(canvas, explanation) {
  const shown = explanation.contributions;
  const rest = explanation.raw_margin - explanation.base_value - shown.reduce((sum, c) => sum + c.shap_value, 0);
  const steps = [...shown.map((c) => ({ label: c.feature, shap: c.shap_value })), { label: "all other features", shap: rest }];
  let running = explanation.base_value;
  const bars = steps.map((step) => {
    const bar = [running, running + step.shap];
    running += step.shap;
    return bar;
  });
  const labels = ["average client", ...steps.map((s) => s.label), "this client"];
  const data = [[0, explanation.base_value], ...bars, [0, explanation.raw_margin]];
  const colours = ["", ...steps.map((s) => (s.shap > 0 ? RAISES : LOWERS)), ""].map((c) => c || NEUTRAL);
  return redraw(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label: "log-odds of default", data, backgroundColor: colours }] },
    options: {
      indexAxis: "y",
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const [from, to] = item.raw;
              const total = item.dataIndex === 0 || item.dataIndex === data.length - 1;
              if (total) return `log-odds ${number.format(to)}`;
              const change = to - from;
              return `${change > 0 ? "+" : ""}${number.format(change)} log-odds (${change > 0 ? "raises" : "lowers"} risk)`;
            },
          },
        },
      },
      scales: { x: { title: { display: true, text: "log-odds of default (higher = riskier)" } } },
    },
  });
}

export function binLabel(bin) {
  return bin.lower === bin.upper ? formatNumber(bin.lower) : `${formatNumber(bin.lower)} – ${formatNumber(bin.upper)}`;
}

/** The bin holding `value`: the last whose lower bound is <= value (clamped to the first). */
export function binIndex(bins, value) {
  const index = bins.findLastIndex((bin) => bin.lower <= value);
  return Math.max(index, 0);
}

/** Share of repaid and of defaulted clients per bin, the client's bin outlined. */
export function drawPopulation(canvas, distribution, clientBin) {
  const { bins, clients } = distribution;
  const share = (count, total) => (total ? (100 * count) / total : 0);
  const outline = (i) => (i === clientBin ? 3 : 0);
  const dataset = (label, key, total, colour) => ({
    label,
    data: bins.map((bin) => share(bin[key], total)),
    backgroundColor: colour,
    borderColor: "#111",
    borderWidth: bins.map((_, i) => outline(i)),
  });
  return redraw(canvas, {
    type: "bar",
    data: {
      labels: bins.map(binLabel),
      datasets: [
        dataset("repaid (% of repaid clients)", "repaid", clients.repaid, REPAID),
        dataset("defaulted (% of defaulted clients)", "defaulted", clients.defaulted, DEFAULTED),
      ],
    },
    options: {
      plugins: {
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${number.format(item.raw)}%` } },
      },
      scales: {
        x: { title: { display: true, text: `${distribution.feature} (outlined: this client)` } },
        y: { title: { display: true, text: "% of the outcome group" }, beginAtZero: true },
      },
    },
  });
}
