// Structured errors: every handler failure reaches the hub as
// {code, message}, with code one of the canonical gRPC status names.

export class CommandError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export const invalidArgument = (message) => new CommandError("INVALID_ARGUMENT", message);
export const deadlineExceeded = (message) => new CommandError("DEADLINE_EXCEEDED", message);
export const failedPrecondition = (message) => new CommandError("FAILED_PRECONDITION", message);
export const unavailable = (message) => new CommandError("UNAVAILABLE", message);
export const internal = (message) => new CommandError("INTERNAL", message);
export const notFound = (message) => new CommandError("NOT_FOUND", message);

// Turns anything thrown into the error frame's payload.
export function toErrorPayload(error) {
  if (error instanceof CommandError) return { code: error.code, message: error.message };
  return { code: "INTERNAL", message: String(error?.message ?? error) };
}

// Rejects with DEADLINE_EXCEEDED after `ms` unless `promise` settles first.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(deadlineExceeded(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
