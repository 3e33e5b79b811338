/**
 * Errors the server answers with: `ApiError` carries a code from the protocol's closed set and a message safe to
 * show; anything else is logged here and answered as a generic `internal` error.
 */
import type { Ack, ErrorCode, ProtocolError } from './protocol';

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ProtocolError['details'],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Why the server cannot start (a refused option, a port in use): printed as one line, without a stack. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Turn any thrown value into a protocol error; unknown failures are logged server-side and not described. */
export function toProtocolError(error: unknown, context: string): ProtocolError {
  if (error instanceof ApiError) {
    return error.details === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, details: error.details };
  }
  console.error(`[engram] internal error in ${context}:`, error);
  return { code: 'internal', message: 'internal server error' };
}

export function failure<T>(error: unknown, context: string): Ack<T> {
  return { ok: false, error: toProtocolError(error, context) };
}
