// Form fields: browser-side checks (from each input's required/min/max/step), the request body, and the
// API's 422 field errors shown next to the field they name.
//
// An input names its API field in data-field; data-unit="years-ago" means the officer types years and the
// API receives negative days (Kaggle's DAYS_* convention).

const DAYS_PER_YEAR = 365.25;

function fields(form) {
  return [...form.querySelectorAll("[data-field]")];
}

function problem(input) {
  const v = input.validity;
  if (v.valueMissing) return "Required.";
  if (v.badInput) return "Enter a number.";
  if (v.rangeUnderflow) return `Must be at least ${input.min}.`;
  if (v.rangeOverflow) return `Must be at most ${input.max}.`;
  if (v.stepMismatch) return "Enter a whole number.";
  return v.valid ? null : input.validationMessage;
}

/** Put `message` next to `input` (or clear it with null), wired for screen readers. */
export function setFieldError(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  slot.textContent = message ?? "";
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

export function clearErrors(form) {
  for (const input of fields(form)) setFieldError(input, null);
}

/** Browser-side checks; marks each invalid field, focuses the first, and says whether all passed. */
export function validate(form) {
  const invalid = [];
  for (const input of fields(form)) {
    const message = problem(input);
    setFieldError(input, message);
    if (message) invalid.push(input);
  }
  invalid[0]?.focus();
  return invalid.length === 0;
}

/** The filled-in fields as the API's names and units; empty fields are left out (missing). */
export function values(form) {
  const body = {};
  for (const input of fields(form)) {
    if (input.value === "") continue;
    if (input.type !== "number") body[input.dataset.field] = input.value;
    else if (input.dataset.unit === "years-ago") body[input.dataset.field] = -Math.round(input.valueAsNumber * DAYS_PER_YEAR);
    else body[input.dataset.field] = input.valueAsNumber;
  }
  return body;
}

/**
 * Show a 422's details ([{field: "application.AMT_CREDIT", reason}]) next to their inputs; `prefix` is the
 * body path of the form's fields. Returns the problems no input matched (shown in the page message).
 */
export function showApiErrors(form, details, prefix = "") {
  const unmatched = [];
  let first = null;
  for (const { field, reason } of Array.isArray(details) ? details : []) {
    const name = prefix && field.startsWith(prefix) ? field.slice(prefix.length) : field;
    const input = fields(form).find((candidate) => candidate.dataset.field === name);
    if (input) {
      setFieldError(input, reason);
      first ??= input;
    } else {
      unmatched.push(`${field}: ${reason}`);
    }
  }
  first?.focus();
  return unmatched;
}
