// Parameter checks shared by the handlers.
import { invalidArgument } from "./errors.js";

export function requireString(params, name, { allowEmpty = false } = {}) {
  const value = params?.[name];
  if (typeof value !== "string" || (!allowEmpty && value === "")) {
    throw invalidArgument(`${name} must be a non-empty string`);
  }
  return value;
}

// A google.protobuf.Duration field in proto3 JSON ("1.500s") in
// milliseconds; absent: `fallback`.
export function durationMs(params, name, fallback) {
  const value = params?.[name];
  if (value === undefined) return fallback;
  const match = typeof value === "string" ? /^(\d+(?:\.\d{1,9})?)s$/.exec(value) : null;
  if (!match) throw invalidArgument(`${name} must be a non-negative duration, not ${JSON.stringify(value)}`);
  return Number(match[1]) * 1000;
}

// Milliseconds as a google.protobuf.Duration in proto3 JSON.
export function durationJson(ms) {
  return `${(Math.max(0, ms) / 1000).toFixed(3)}s`;
}

// A positive timeout in milliseconds, or the default.
export function timeoutMs(params, fallback) {
  const value = params?.timeout_ms;
  if (value === undefined || value === null) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw invalidArgument("timeout_ms must be positive");
  return value;
}
