/** Stable codes of the protocol library's errors; tests and operators match on these. */
export const ProtocolErrorCode = {
  decode: 'FL_PROTOCOL_DECODE',
  invalidField: 'FL_PROTOCOL_INVALID_FIELD',
  unsafeInteger: 'FL_PROTOCOL_UNSAFE_INTEGER',
  invalidManifest: 'FL_PROTOCOL_INVALID_MANIFEST',
  chunk: 'FL_PROTOCOL_CHUNK',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** Base class of every error the protocol library throws. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/** Bytes that are not a valid message of the expected type. */
export class ProtocolDecodeError extends ProtocolError {
  constructor(message: string, options?: ErrorOptions) {
    super(ProtocolErrorCode.decode, message, options);
    this.name = 'ProtocolDecodeError';
  }
}

/** A decoded message whose field holds a value the contract does not allow. */
export class InvalidFieldError extends ProtocolError {
  readonly field: string;

  constructor(field: string, message: string, options?: ErrorOptions) {
    super(ProtocolErrorCode.invalidField, `'${field}' ${message}`, options);
    this.name = 'InvalidFieldError';
    this.field = field;
  }
}

/** A 64-bit integer above 2^53 - 1, which a JavaScript number cannot hold exactly. */
export class UnsafeIntegerError extends ProtocolError {
  readonly field: string;

  constructor(field: string, value: string) {
    super(
      ProtocolErrorCode.unsafeInteger,
      `'${field}' is ${value}, above the largest exact integer 2^53 - 1 (9007199254740991)`
    );
    this.name = 'UnsafeIntegerError';
    this.field = field;
  }
}

/** A model manifest read from the KV bucket that does not have the expected form. */
export class InvalidManifestError extends ProtocolError {
  constructor(message: string, options?: ErrorOptions) {
    super(ProtocolErrorCode.invalidManifest, message, options);
    this.name = 'InvalidManifestError';
  }
}

/** A chunk that does not fit the set it claims to belong to. */
export class ChunkError extends ProtocolError {
  readonly updateId: string;

  constructor(updateId: string, message: string) {
    super(ProtocolErrorCode.chunk, `update '${updateId}': ${message}`);
    this.name = 'ChunkError';
    this.updateId = updateId;
  }
}
