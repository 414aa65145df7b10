/**
 * The two roots of every error Parley raises. A ClientError is the caller's fault (bad
 * input, not allowed, not found) and travels to the client in Rocket.Chat's shape; a
 * ServerFault is ours, is logged with its stack and reaches the client only as a generic
 * internal error. Each transport turns them into wire shapes in one place.
 */

/** What a Meteor.Error carries as `details`: mostly an object, a list for password policy reasons. */
export type ErrorDetails = Record<string, unknown> | readonly unknown[];

export interface ClientErrorOptions extends ErrorOptions {
  /** HTTP status for REST; 400 unless said otherwise. */
  readonly status?: 400 | 401 | 403 | 404 | 429;
  /** Extra data sent along, as Meteor.Error's `details` (an object, or a list of reasons). */
  readonly details?: ErrorDetails;
  /**
   * Send `reason` alone as the REST `error` string, without `errorType`, as Rocket.Chat's
   * handlers do when they fail with a plain string.
   */
  readonly plain?: boolean;
}

/**
 * An error the client caused, shaped like Meteor.Error: `error` is the stable code
 * (`error-room-not-found`, or a number such as 403 for DDP login), `reason` the text.
 */
export class ClientError extends Error {
  override readonly name = "ClientError";
  readonly status: 400 | 401 | 403 | 404 | 429;
  readonly details: ErrorDetails | undefined;
  readonly plain: boolean;

  constructor(
    readonly error: string | number,
    readonly reason?: string,
    options: ClientErrorOptions = {},
  ) {
    super(reason === undefined ? `[${error}]` : `${reason} [${error}]`, options);
    this.status = options.status ?? 400;
    this.details = options.details;
    this.plain = options.plain ?? false;
  }
}

/** A fault of the server itself (a broken invariant, a store failure); never the client's. */
export class ServerFault extends Error {
  override readonly name = "ServerFault";
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The 401 every authenticated route answers to a caller who is not logged in. */
export function notLoggedIn(): ClientError {
  return new ClientError("unauthorized", "You must be logged in to do this.", {
    status: 401,
    plain: true,
  });
}

/** A 404 with Rocket.Chat's default text. */
export function notFound(reason = "Resource not found"): ClientError {
  return new ClientError("not-found", reason, { status: 404, plain: true });
}

/** The 403 for a missing permission, with Rocket.Chat's exact text. */
export function notAllowed(): ClientError {
  return new ClientError(
    "error-unauthorized",
    "User does not have the permissions required for this action",
    { status: 403 },
  );
}

/** A validation failure of a request's parameters. */
export function invalidParams(reason: string): ClientError {
  return new ClientError("invalid-params", reason);
}
