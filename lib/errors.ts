/**
 * Operating errors: expected failures that ExoDB handles and reports. Each carries a PostgreSQL
 * SQLSTATE so the wire layer can report it unchanged; the server stays up after any of them.
 */

/** SQLSTATE codes used across layers (see PostgreSQL's errcodes.txt). */
export const SqlState = {
  ioError: "58030",
  diskFull: "53100",
  dataCorrupted: "XX001",
  internalError: "XX000",
  configFileError: "F0000",
  invalidParameterValue: "22023",
} as const;

/** One of the SQLSTATE values above. */
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];

/** Base class of every operating error ExoDB reports. */
export class ExoError extends Error {
  override name = "ExoError";
  /** The SQLSTATE the wire protocol reports for this error. */
  readonly sqlState: string;

  constructor(sqlState: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.sqlState = sqlState;
  }
}

/** A device read, write or flush failed (EIO, ENOSPC, …); the device name is in the message. */
export class DeviceError extends ExoError {
  override name = "DeviceError";
  /** The errno name reported by the device, such as `EIO` or `ENOSPC`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code === "ENOSPC" ? SqlState.diskFull : SqlState.ioError, message, options);
    this.code = code;
  }
}

/** The on-disk image cannot be mounted (bad superblock, wrong format, truncated file). */
export class MountError extends ExoError {
  override name = "MountError";

  constructor(message: string, options?: ErrorOptions) {
    super(SqlState.dataCorrupted, message, options);
  }
}
