// The review queue on the officers' page, loaded on demand (a key without the review scope never asks):
// decisions waiting for an officer (oldest first); opening one
// shows it in the decision, reasons and population views (app.js, through a "show-decision" event) and
// here its warnings and the two final answers, each with a reason code from the API's fixed list.

import { ApiError, apiKey, call, describe } from "./api.js";
import { percent } from "./charts.js";

const $ = (id) => document.getElementById(id);
const queue = {
  list: $("review-list"),
  status: $("review-status"),
  refresh: $("review-refresh"),
  detail: $("review-detail"),
  title: $("review-title"),
  warnings: $("review-warnings"),
  form: $("review-form"),
  reason: $("review-reason"),
  note: $("review-note"),
  outcome: $("review-outcome"),
};
let opened = null; // the review shown in the detail panel

/** The reason codes a review accepts, read from the API's own schema (one list, kept by the server). */
async function reasonCodes() {
  const response = await fetch("/openapi.json");
  const schema = await response.json();
  return schema.components.schemas.ReviewIn.properties.reason.enum;
}

function readable(code) {
  return code.replaceAll("_", " ");
}

async function loadQueue() {
  if (apiKey.get() === null) {
    queue.status.textContent = "Save an API key with the review scope to see the reviews.";
    return;
  }
  queue.status.textContent = "Loading the reviews…";
  try {
    const { body } = await call("/v1/reviews");
    queue.list.replaceChildren(...body.reviews.map(entry));
    queue.status.textContent = body.pending
      ? `${body.pending} decision(s) waiting for an officer, oldest first.`
      : "No decision is waiting for a review.";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    queue.status.textContent = describe(error);
  }
}

function entry(review) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  const who = review.client_id === null ? "new application" : `client ${review.client_id}`;
  button.textContent = `${who} · PD ${percent.format(review.pd)} · ${review.warnings.length} warning(s)`;
  button.dataset.requestId = review.request_id;
  button.addEventListener("click", () => open(review));
  item.append(button);
  return item;
}

function open(review) {
  opened = review;
  const who = review.client_id === null ? "the new application" : `client ${review.client_id}`;
  queue.title.textContent = `Review of ${who} (request ${review.request_id})`;
  queue.warnings.replaceChildren(
    ...(review.warnings.length ? review.warnings : [{ field: "PD", unusual: "inside the review band" }]).map(
      (warning) => {
        const item = document.createElement("li");
        item.textContent = `${warning.field}: ${warning.unusual}`;
        return item;
      },
    ),
  );
  queue.outcome.textContent = "";
  queue.form.hidden = false;
  queue.detail.hidden = false;
  document.dispatchEvent(
    new CustomEvent("show-decision", {
      detail: {
        ...review,
        decision: "review",
        explanation: review.explanation_url
          ? { id: review.explanation_id, status: "pending", url: review.explanation_url }
          : { id: null, status: "unavailable", url: null },
      },
    }),
  );
  queue.title.focus();
}

async function decide(decision) {
  const { request_id: requestId } = opened;
  const body = { decision, reason: queue.reason.value, note: queue.note.value };
  try {
    const { body: record } = await call(`/v1/decisions/${encodeURIComponent(requestId)}/review`, {
      method: "POST",
      body,
    });
    const review = record.review;
    queue.outcome.textContent =
      `Recorded: ${record.final_decision} (${readable(review.reason)}) by ${review.actor}; ` +
      `the model alone said ${record.model_side}.`;
    queue.form.hidden = true;
    await loadQueue();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    queue.outcome.textContent = describe(error);
  }
}

queue.form.addEventListener("submit", (event) => event.preventDefault());
$("review-approve").addEventListener("click", () => decide("approved"));
$("review-refuse").addEventListener("click", () => decide("refused"));
queue.refresh.addEventListener("click", loadQueue);

reasonCodes().then((codes) => {
  queue.reason.replaceChildren(...codes.map((code) => new Option(readable(code), code)));
});
