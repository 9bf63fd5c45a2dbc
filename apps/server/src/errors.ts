/** Errors in OpenAI's JSON shape: {"error": {"message", "type", "param", "code"}}. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | number | null = null,
    readonly type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }

  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** The body /health and the model routes answer while the model loads (503). */
export const LOADING_ERROR = new ApiError(503, 'Loading model', null, 503, 'unavailable_error');
