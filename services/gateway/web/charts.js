// The three pictures of a decision: the PD gauge against the threshold, the waterfall of the reason
// families' SHAP contributions (in probability terms), and the client's place in a feature's population
// by outcome. Chart.js is the vendored UMD build (window.Chart); each chart also has a text alternative
// written by app.js.

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

const WATERFALL_STEPS = 6; // families drawn one by one; the others share one bar
const probability = (logOdds) => 1 / (1 + Math.exp(-logOdds));
const points = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, signDisplay: "always" });

/** Risk from the average client's to this client's, one step per reason family, in probability terms
 * (percentage points of the model's uncalibrated probability of default). The average and this client are
 * markers, not bars from zero, so a 7% baseline does not dwarf steps of a point or two. */
export function drawWaterfall(canvas, explanation) {
  const families = explanation.families;
  const shown = families.slice(0, WATERFALL_STEPS).map((f) => ({ label: f.title, shap: f.shap_value }));
  const rest = families.slice(WATERFALL_STEPS).reduce((sum, f) => sum + f.shap_value, 0);
  const steps = rest === 0 ? shown : [...shown, { label: `${families.length - WATERFALL_STEPS} other families`, shap: rest }];
  let margin = explanation.base_value;
  const bars = steps.map((step) => {
    const from = 100 * probability(margin);
    margin += step.shap;
    return [from, 100 * probability(margin)];
  });
  const start = 100 * probability(explanation.base_value);
  const end = 100 * probability(explanation.raw_margin);
  const values = [start, end, ...bars.flat()];
  const span = Math.max(...values) - Math.min(...values) || 1;
  const marker = (at) => [at - span / 150, at + span / 150];
  const labels = ["average client", ...steps.map((s) => s.label), `this client (PD ${percent.format(explanation.pd)} after calibration)`];
  const data = [marker(start), ...bars, marker(end)];
  const colours = [NEUTRAL, ...steps.map((s) => (s.shap > 0 ? RAISES : LOWERS)), NEUTRAL];
  const pad = span / 10;
  return redraw(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label: "probability of default (%)", data, backgroundColor: colours }] },
    options: {
      indexAxis: "y",
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              if (item.dataIndex === 0) return `average client: ${number.format(start)}%`;
              if (item.dataIndex === data.length - 1) return `this client: ${number.format(end)}%`;
              const [from, to] = item.raw;
              const side = to > from ? "raises" : "lowers";
              return `${points.format(to - from)} percentage points (${side} the risk): ${number.format(from)}% → ${number.format(to)}%`;
            },
          },
        },
      },
      scales: {
        x: {
          min: Math.max(0, Math.min(...values) - pad),
          max: Math.min(100, Math.max(...values) + pad),
          title: { display: true, text: "probability of default, % (model score before calibration)" },
        },
      },
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
export function drawPopulation(canvas, distribution, label, clientBin) {
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
        x: { title: { display: true, text: `${label} (outlined: this client)` } },
        y: { title: { display: true, text: "% of the outcome group" }, beginAtZero: true },
      },
    },
  });
}
