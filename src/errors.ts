/** The base of every error this package throws, so callers can catch them all with one `instanceof`. */
export class DispatchError extends Error {
  override name = 'DispatchError';
}

/** Input that was refused before anything was stored. `field` names what was wrong. */
export class ValidationError extends DispatchError {
  override name = 'ValidationError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** A job input that does not match its definition's schema. */
export class InvalidInputError extends ValidationError {
  override name = 'InvalidInputError';
  constructor(
    field: string,
    reason: string,
    /** Every problem the schema found, each with its path inside the input. */
    readonly issues: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(field, reason);
  }
}

/**
 * A handler's result that does not match its definition's `output` schema.
 * `field` names where, from `output` (`output.total`); the attempt fails and
 * nothing is stored as the result.
 */
export class InvalidOutputError extends ValidationError {
  override name = 'InvalidOutputError';
  constructor(
    field: string,
    reason: string,
    /** Every problem the schema found, each with its path inside the result. */
    readonly issues: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(field, reason);
  }
}

/** A value that cannot be stored as JSON (a function, a BigInt, a cycle, a class instance...). */
export class NotSerializableError extends ValidationError {
  override name = 'NotSerializableError';
}

/** An input larger, as JSON, than the dispatcher's `maxPayloadBytes`. */
export class PayloadTooLargeError extends ValidationError {
  override name = 'PayloadTooLargeError';
  constructor(
    field: string,
    readonly bytes: number,
    readonly limit: number,
    limitName = "the dispatcher's maxPayloadBytes",
  ) {
    super(field, `is ${bytes} bytes as JSON, over the limit of ${limit} (${limitName})`);
  }
}

/** An enqueue option or a definition field with a value outside its range. */
export class InvalidOptionError extends ValidationError {
  override name = 'InvalidOptionError';
}

/** A job name no definition was registered under. */
export class UnknownJobError extends ValidationError {
  override name = 'UnknownJobError';
  constructor(readonly jobName: string) {
    super('name', `no job named "${jobName}" is registered`);
  }
}

/** A second definition under a name that is already registered. */
export class DuplicateJobError extends DispatchError {
  override name = 'DuplicateJobError';
  constructor(readonly jobName: string) {
    super(`a job named "${jobName}" is already registered`);
  }
}

/**
 * An enqueue with `onConflict: 'error'` found its unique key held by another
 * job of that name (waiting, running, or at rest within its `keepFor`).
 * Nothing of the call was stored.
 */
export class JobKeyConflictError extends DispatchError {
  override name = 'JobKeyConflictError';
  constructor(
    readonly jobName: string,
    readonly key: string,
    /** The job holding the key. */
    readonly jobId: string,
    /** Its state when the enqueue looked. */
    readonly state: string,
  ) {
    super(`a job named "${jobName}" with key "${key}" already exists (job ${jobId}, ${state})`);
  }
}

export class JobNotFoundError extends DispatchError {
  override name = 'JobNotFoundError';
  constructor(readonly jobId: string) {
    super(`no job with id "${jobId}"`);
  }
}

/** An operation the job's current state does not allow (the statechart has no such transition). */
export class InvalidTransitionError extends DispatchError {
  override name = 'InvalidTransitionError';
  constructor(
    readonly jobId: string,
    readonly state: string,
    readonly event: string,
  ) {
    super(`job ${jobId} is ${state}: ${event} is not possible from there`);
  }
}

/** A write that lost its compare-and-set: the job moved on (a cancel won, or the lease expired). */
export class StaleWriteError extends DispatchError {
  override name = 'StaleWriteError';
  constructor(
    readonly jobId: string,
    readonly expectedState: string,
  ) {
    super(`job ${jobId} is no longer ${expectedState} under this lease`);
  }
}

/** Thrown by a handler to fail the job at once, without retries: it goes straight to the DLQ. */
export class PermanentError extends DispatchError {
  override name = 'PermanentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Something ran past its time: the reason a handler's AbortSignal carries when
 * its attempt ran past the job's timeout, and the base of `WaitTimeoutError`.
 */
export class TimeoutError extends DispatchError {
  override name = 'TimeoutError';
}

/** `waitFor` gave up: the job did not come to rest within the timeout. It goes on; only the wait ended. */
export class WaitTimeoutError extends TimeoutError {
  override name = 'WaitTimeoutError';
  constructor(
    readonly jobId: string,
    readonly timeoutMs: number,
    /** The state the job was last seen in. */
    readonly state: string,
  ) {
    super(`job ${jobId} did not come to rest within ${timeoutMs} ms (last seen ${state})`);
  }
}

/** The reason a handler's AbortSignal carries when the job was cancelled. */
export class CancelledError extends DispatchError {
  override name = 'CancelledError';
}

/** The reason a handler's AbortSignal carries when the dispatcher stops before the handler finished. */
export class ShutdownError extends DispatchError {
  override name = 'ShutdownError';
}

/** The reason a handler's AbortSignal carries when this worker lost its lease on the job. */
export class LeaseLostError extends DispatchError {
  override name = 'LeaseLostError';
}

/** The dispatcher was used in a way its lifecycle does not allow (start after stop, ...). */
export class LifecycleError extends DispatchError {
  override name = 'LifecycleError';
}

/**
 * A store given options it cannot work with: a bad URL, a missing path, a
 * handle it does not accept, a key it does not know. An InvalidOptionError
 * too, so one `instanceof` catches every refused option.
 */
export class StoreConfigError extends InvalidOptionError {
  override name = 'StoreConfigError';
}

/** A store operation that failed underneath (a lost connection, a locked file); the cause says why. */
export class StoreError extends DispatchError {
  override name = 'StoreError';
}

/**
 * A stored job the store cannot read as it stands: a column that is not the
 * JSON it must be, or a state the job chart does not have. `field` names the
 * column. Such a job goes to the DLQ with this error when it is next leased.
 */
export class CorruptJobError extends StoreError {
  override name = 'CorruptJobError';
  constructor(
    readonly jobId: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`job ${jobId}: ${field}: ${reason}`);
  }
}
