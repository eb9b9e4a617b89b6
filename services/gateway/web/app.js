// The loan officers' page: API key, client look-up or new application, then the decision, its
// explanation as it arrives (polled), and the client's place in the population for a chosen feature.

import { ApiError, apiKey, call, describe } from "./api.js";
import { binIndex, binLabel, drawGauge, drawPopulation, drawWaterfall, formatNumber, percent } from "./charts.js";
import { clearErrors, showApiErrors, validate, values } from "./form.js";

const POLL_LIMIT_S = 60;
const $ = (id) => document.getElementById(id);

const page = {
  message: $("message"),
  keyForm: $("key-form"),
  keyInput: $("api-key"),
  keyStatus: $("key-status"),
  forgetKey: $("forget-key"),
  lookupForm: $("lookup-form"),
  applicationForm: $("application-form"),
  result: $("result"),
  explanation: $("explanation"),
  explanationStatus: $("explanation-status"),
  reasons: $("reasons"),
  recourse: $("recourse"),
  recourseStatement: $("recourse-statement"),
  offers: $("offers"),
  population: $("population"),
  feature: $("feature"),
  populationStatus: $("population-status"),
  populationRows: $("population-rows"),
};

let current = 0; // the latest score; answers and polls for an older one are dropped
let contributions = new Map(); // feature -> its contribution (the client's value, its plain label)
const distributions = new Map(); // feature -> its population histogram (the same for every client)

function say(text) {
  page.message.textContent = text;
  page.message.hidden = !text;
}

function showError(error, form = null, prefix = "") {
  if (!(error instanceof ApiError)) throw error;
  let text = describe(error);
  if (error.status === 422 && form) {
    const unmatched = showApiErrors(form, error.details, prefix);
    if (unmatched.length) text += ` ${unmatched.join("; ")}`;
  }
  say(text);
  if (error.status === 401) page.keyInput.focus();
  else if (error.status !== 422) page.message.scrollIntoView({ block: "nearest" });
}

// --- API key -------------------------------------------------------------------------------------------

function showKeyState() {
  const stored = apiKey.get() !== null;
  page.keyStatus.textContent = stored ? "A key is saved for this browser tab." : "No key saved yet.";
  page.forgetKey.hidden = !stored;
}

page.keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = page.keyInput.value.trim();
  if (!key) {
    page.keyStatus.textContent = "Enter an API key first.";
    page.keyInput.focus();
    return;
  }
  apiKey.set(key);
  page.keyInput.value = "";
  say("");
  showKeyState();
});

page.forgetKey.addEventListener("click", () => {
  apiKey.clear();
  showKeyState();
  page.keyInput.focus();
});

// --- scoring -------------------------------------------------------------------------------------------

/** Check `form`, then POST /v1/scores with makeBody(); `prefix` is the body path of the form's fields. */
async function score(form, makeBody, prefix) {
  say("");
  clearErrors(form);
  if (!validate(form)) return;
  if (apiKey.get() === null) {
    say("Enter your API key first.");
    page.keyInput.focus();
    return;
  }
  const run = ++current;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { body: decision } = await call("/v1/scores", { method: "POST", body: makeBody() });
    if (run === current) showDecision(decision, run);
  } catch (error) {
    if (run === current) showError(error, form, prefix);
  } finally {
    button.disabled = false;
  }
}

page.lookupForm.addEventListener("submit", (event) => {
  event.preventDefault();
  score(page.lookupForm, () => values(page.lookupForm), "");
});

page.applicationForm.addEventListener("submit", (event) => {
  event.preventDefault();
  score(page.applicationForm, () => ({ application: values(page.applicationForm) }), "application.");
});

const BADGES = { approved: "✓ Approved", review: "? Review by an officer", refused: "✕ Refused" };

function showDecision(decision, run) {
  const who = decision.client_id === null ? "the new application" : `client ${decision.client_id}`;
  $("result-title").textContent = `Decision for ${who}`;
  const badge = $("decision");
  badge.textContent = BADGES[decision.decision];
  badge.className = `decision ${decision.decision}`;
  $("pd").textContent = percent.format(decision.pd);
  $("threshold").textContent = percent.format(decision.threshold);
  $("model-version").textContent = decision.model_version;
  $("request-id").textContent = decision.request_id;
  drawGauge($("gauge"), decision.pd, decision.threshold);
  page.result.hidden = false;
  page.population.hidden = true;
  $("result-title").focus();
  followExplanation(decision.explanation, run);
}

// A review opened in the queue (reviews.js) is shown like a fresh score.
document.addEventListener("show-decision", (event) => showDecision(event.detail, ++current));

// --- explanation (polled) ------------------------------------------------------------------------------

function explanationState(text, busy) {
  page.explanationStatus.textContent = text;
  page.explanation.setAttribute("aria-busy", String(busy));
}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

async function followExplanation(reference, run) {
  page.explanation.hidden = false;
  page.reasons.replaceChildren();
  page.recourse.hidden = true;
  $("waterfall-box").hidden = true;
  if (reference.status === "unavailable") {
    explanationState("The explanation is unavailable right now (the explainer is down); the decision stands.", false);
    return;
  }
  explanationState("Explanation pending: the reasons appear here in a few seconds…", true);
  const deadline = Date.now() + POLL_LIMIT_S * 1000;
  try {
    while (Date.now() < deadline) {
      const { status, body, retryAfter } = await call(reference.url);
      if (run !== current) return;
      if (status === 200) return showExplanation(body, run);
      explanationState(`Explanation ${body.status}: the reasons appear here in a few seconds…`, true);
      await sleep(retryAfter ?? 1);
    }
    explanationState("The explanation is taking longer than usual; score the client again later to see it.", false);
  } catch (error) {
    if (run !== current) return;
    explanationState("The explanation could not be loaded.", false);
    showError(error);
  }
}

function showExplanation(found, run) {
  if (found.status === "failed" || !found.result) {
    explanationState(`The explanation failed: ${found.reason ?? "unknown reason"}.`, false);
    return;
  }
  const result = found.result;
  const reasons = result.principal_reasons;
  const what = result.decision === "approved" ? "strengths" : "principal reasons";
  explanationState(`Explanation ready: the ${reasons.length} ${what}, strongest first, one per family.`, false);
  page.reasons.replaceChildren(...reasons.map(reasonItem));
  showRecourse(result.recourse);
  $("waterfall-box").hidden = false;
  drawWaterfall($("waterfall"), result);
  contributions = new Map(result.contributions.map((c) => [c.feature, c]));
  page.feature.replaceChildren(
    ...result.contributions.map((c) => new Option(`${c.label} (this client: ${formatNumber(c.value)})`, c.feature)),
  );
  page.population.hidden = false;
  showPopulation(run);
}

/** One principal reason: its family in bold, then the sentence after the family's title. */
function reasonItem(reason) {
  const item = document.createElement("li");
  item.className = reason.direction === "raises risk" ? "raises" : "lowers";
  const title = document.createElement("strong");
  title.textContent = reason.title;
  item.append(title, reason.text.slice(reason.title.length));
  return item;
}

/** The offers under the reasons, each in the customer's words with the fields to resubmit; or why there is
 * none. Nothing for an approval (recourse null). */
function showRecourse(recourse) {
  page.recourse.hidden = !recourse;
  if (!recourse) return;
  page.recourseStatement.textContent = recourse.offers.length
    ? `${recourse.offers.length} change(s) the model would approve:`
    : recourse.statement;
  page.offers.replaceChildren(...recourse.offers.map(offerItem));
}

function offerItem(offer) {
  const item = document.createElement("li");
  const fields = document.createElement("small");
  const changes = Object.entries(offer.changes).map(([field, value]) => `${field} = ${formatNumber(value)}`);
  fields.textContent = ` (${changes.join(", ")}; PD ${percent.format(offer.pd)})`;
  item.append(offer.text, fields);
  return item;
}

// --- population ----------------------------------------------------------------------------------------

page.feature.addEventListener("change", () => showPopulation(current));

async function showPopulation(run) {
  const name = page.feature.value;
  page.populationStatus.textContent = `Loading the population of ${name}…`;
  try {
    if (!distributions.has(name)) {
      const { body } = await call(`/v1/features/${encodeURIComponent(name)}/distribution`);
      distributions.set(name, body);
    }
  } catch (error) {
    if (run !== current) return;
    page.populationStatus.textContent = "The population could not be loaded.";
    showError(error);
    return;
  }
  if (run !== current || page.feature.value !== name) return;
  const distribution = distributions.get(name);
  const { value, label } = contributions.get(name);
  const bin = value === null || !distribution.bins.length ? -1 : binIndex(distribution.bins, value);
  page.populationStatus.textContent = summary(distribution, label, value, bin);
  drawPopulation($("population-chart"), distribution, label, bin);
  page.populationRows.replaceChildren(...distribution.bins.map((b, i) => tableRow(b, i === bin)));
}

function summary(distribution, label, value, bin) {
  const { clients, missing } = distribution;
  const total = clients.repaid + clients.defaulted;
  const about = `${label[0].toUpperCase()}${label.slice(1)}, over ${total} past clients.`;
  if (value === null) {
    const rate = (missing.repaid + missing.defaulted) / Math.max(total, 1);
    return `${about} This client's value is missing, like ${percent.format(rate)} of past clients.`;
  }
  if (bin < 0) return `${about} No past client has a known value.`;
  const b = distribution.bins[bin];
  const share = (count, group) => percent.format(count / Math.max(group, 1));
  return (
    `${about} This client's value ${formatNumber(value)} falls in ${binLabel(b)}, ` +
    `with ${share(b.repaid, clients.repaid)} of clients who repaid and ` +
    `${share(b.defaulted, clients.defaulted)} of clients who defaulted.`
  );
}

function tableRow(bin, isClients) {
  const row = document.createElement("tr");
  for (const text of [binLabel(bin) + (isClients ? " (this client)" : ""), bin.repaid, bin.defaulted]) {
    const cell = document.createElement("td");
    cell.textContent = String(text);
    row.append(cell);
  }
  return row;
}

showKeyState();
