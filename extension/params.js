// Parameter checks shared by the handlers.
import { invalidArgument } from "./errors.js";

export function requireString(params, name, { allowEmpty = false } = {}) {
  const value = params?.[name];
  if (typeof value !== "string" || (!allowEmpty && value === "")) {
    throw invalidArgument(`${name} must be a non-empty string`);
  }
  return value;
}

// A positive timeout in milliseconds, or the default.
export function timeoutMs(params, fallback) {
  const value = params?.timeout_ms;
  if (value === undefined || value === null) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw invalidArgument("timeout_ms must be positive");
  return value;
}
