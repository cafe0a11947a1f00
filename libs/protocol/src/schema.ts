/**
 * Version of the wire schema in proto/asyncfl.proto. Readers reject messages with a higher
 * version, because a newer writer may have changed how an existing field is read.
 */
export const SCHEMA_VERSION = 1;

/** Largest integer a version, sequence or count may take on the wire: 2^53 - 1. */
export const MAX_SAFE_WIRE_INTEGER = Number.MAX_SAFE_INTEGER;
