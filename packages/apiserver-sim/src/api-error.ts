import type { ResourceType } from './resources.js';
import { qualifiedResource } from './resources.js';

/** The `reason` values of metav1.Status that the simulator produces. */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

/** A metav1.Status failure as JSON: the body of every error response and of in-stream ERROR events. */
export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string };
  status: 'Failure';
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

/**
 * An API failure with the HTTP code and Status reason the real apiserver would use. The programmatic object
 * operations throw it too, so callers check `error.code` / `error.reason` the same way over HTTP or not.
 */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  readonly continueToken: string | undefined;

  constructor(
    code: number,
    reason: StatusReason,
    message: string,
    details?: StatusDetails,
    options?: { continueToken?: string },
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.continueToken = options?.continueToken;
  }

  toStatus(): StatusObject {
    return statusObject(this.code, this.reason, this.message, this.details, this.continueToken);
  }
}

export function statusObject(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
  continueToken?: string,
): StatusObject {
  const status: StatusObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: continueToken === undefined ? {} : { continue: continueToken },
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details !== undefined) status.details = details;
  return status;
}

function detailsOf(type: ResourceType, name: string): StatusDetails {
  return type.group === '' ? { name, kind: type.resource } : { name, group: type.group, kind: type.resource };
}

export function notFound(type: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, detailsOf(type, name));
}

export function namespaceNotFound(namespace: string): ApiError {
  return new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, {
    name: namespace,
    kind: 'namespaces',
  });
}

export function alreadyExists(type: ResourceType, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(type)} "${name}" already exists`,
    detailsOf(type, name),
  );
}

export function conflict(type: ResourceType, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": ${why}`,
    detailsOf(type, name),
  );
}

export const MODIFIED_CONFLICT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function invalid(type: ResourceType, name: string, field: string, message: string): ApiError {
  return new ApiError(422, 'Invalid', `${type.kind} "${name}" is invalid: ${field}: ${message}`, {
    ...detailsOf(type, name),
    kind: type.kind,
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** The watch and Exact-list answer for a version older than the kept history, as the real apiserver words it. */
export function tooOldResourceVersion(requested: number, oldest: number): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}
