// The /v1 API seen from the page: the API key kept for this browser tab, requests, and errors in words.

const KEY_STORAGE = "credit.apiKey";

export class ApiError extends Error {
  constructor(status, code, message, details = null, requestId = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_STORAGE),
  set: (key) => sessionStorage.setItem(KEY_STORAGE, key),
  clear: () => sessionStorage.removeItem(KEY_STORAGE),
};

/** One call; resolves to {status, body, retryAfter} for 2xx answers, rejects with an ApiError otherwise. */
export async function call(path, { method = "GET", body } = {}) {
  const headers = { "X-API-Key": apiKey.get() ?? "" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "The gateway cannot be reached. Check the connection and try again.");
  }
  const payload = await response.json().catch(() => null);
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  if (response.ok) return { status: response.status, body: payload, retryAfter };
  const error = payload?.error ?? {};
  throw new ApiError(
    response.status,
    error.code ?? "http_error",
    error.message ?? response.statusText,
    error.details ?? null,
    error.request_id ?? response.headers.get("X-Request-ID"),
    retryAfter,
  );
}

const WAIT = (error) => (error.retryAfter ? `in ${error.retryAfter} s` : "in a moment");

/** What a loan officer reads for a failed call. */
export function describe(error) {
  const reference = error.requestId ? ` (request id ${error.requestId})` : "";
  switch (error.status) {
    case 0:
      return error.message;
    case 401:
      return "Your API key was not accepted. Enter a valid key above (an administrator makes keys).";
    case 403:
      return `This API key is not allowed to do that: ${error.message}.${reference}`;
    case 404:
      return `Not found: ${error.message}.${reference}`;
    case 422:
      return `Some fields are not valid; see the messages next to them.${reference}`;
    case 429:
      return `Too many requests with this API key. Try again ${WAIT(error)}.${reference}`;
    case 503:
      return `A service behind the gateway is unavailable right now (${error.message}). Try again ${WAIT(error)}.${reference}`;
    default:
      return `The gateway answered ${error.status}: ${error.message}.${reference}`;
  }
}
