/**
 * TSIG (RFC 8945): shared-secret authentication of DNS messages, used to sign RFC 2136
 * dynamic updates and to check the server's signed answer.
 *
 * Everything here works on wire-format buffers, because the MAC covers the exact bytes
 * sent: build a message with any encoder (dns-packet), then {@link signMessage} appends
 * the TSIG RR and bumps ARCOUNT. {@link verifyMessage} does the reverse and hands back the
 * message as it was before signing.
 *
 * ```
 *  request MAC input:                    response MAC input:
 *  ┌──────────────────────────────┐      ┌──────────────────────────────┐
 *  │ DNS message (ID = original,  │      │ request MAC size + MAC       │
 *  │   ARCOUNT without the TSIG)  │      │ DNS message (as for request) │
 *  │ TSIG variables               │      │ TSIG variables               │
 *  └──────────────────────────────┘      └──────────────────────────────┘
 *  TSIG variables = key name (canonical wire) | CLASS ANY | TTL 0 | algorithm name
 *                   (canonical wire) | time signed (u48) | fudge | error | other len | other
 * ```
 *
 * Not implemented: TCP multi-message continuation (RFC 8945 §5.3.1, only needed for signed
 * zone transfers), hmac-md5/sha1/sha224/sha384, truncated MACs (rejected with BADTRUNC,
 * as BIND does by default).
 *
 * Secrets never leave this module: errors name the key, never its secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ErrorContext, InputError, ServiceError } from '../../errors.js';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';

/** A TSIG key as configured in BIND (`key "name" { algorithm ...; secret "base64"; };`). */
export interface TsigKey {
  /** Key name; compared case-insensitively, a trailing dot is optional. */
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret, base64. */
  secret: string;
}

/** TSIG error field values (RFC 8945 §3 and the IANA registry). */
export const TsigErrorCode = {
  NOERROR: 0,
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADTRUNC: 22,
} as const;

/** The fields of a TSIG RR as found on the wire. Holds no secret: a MAC is public. */
export interface TsigRecord {
  /** Key name, lowercase, no trailing dot. */
  keyName: string;
  /** Algorithm name, lowercase, no trailing dot (e.g. `hmac-sha256`). */
  algorithm: string;
  /** Seconds since the epoch. */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  otherData: Buffer;
}

export interface SignOptions {
  /** The signing time; defaults to the system clock. */
  now?: Date;
  /** Permitted clock skew in seconds (default 300, as RFC 8945 recommends). */
  fudge?: number;
  /** For a response: the MAC of the request it answers. */
  requestMac?: Buffer;
  /** TSIG error to report (servers only, e.g. {@link TsigErrorCode.BADTIME}). */
  error?: number;
  /** Other Data (servers only: the server's time in a BADTIME answer). */
  otherData?: Buffer;
  /** Overrides Time Signed, in seconds (a BADTIME answer echoes the request's time). */
  timeSigned?: number;
}

export interface SignedMessage {
  /** The message with the TSIG RR appended and ARCOUNT increased. */
  wire: Buffer;
  /** The MAC; keep it to verify the response ({@link VerifyOptions.requestMac}). */
  mac: Buffer;
}

export interface VerifyOptions {
  /** The receiver's time; defaults to the system clock. */
  now?: Date;
  /** Set when verifying a response: the MAC of the request that was sent. */
  requestMac?: Buffer;
}

export interface VerifiedMessage {
  /** The message without its TSIG RR, ARCOUNT decreased; the ID is left as received. */
  message: Buffer;
  mac: Buffer;
  /** Name of the key that verified, lowercase, no trailing dot. */
  keyName: string;
  record: TsigRecord;
}

/**
 * A TSIG check failed, locally or at the server (`origin`). `tsigError` is the RFC 8945
 * error value when there is one; `record` is the TSIG RR that was checked, when it could
 * be parsed (a server uses it to build its error answer).
 */
export class TsigError extends ServiceError {
  readonly tsigError: number | undefined;
  readonly origin: 'local' | 'server';
  readonly record: TsigRecord | undefined;

  constructor(
    code: string,
    message: string,
    options: {
      tsigError?: number;
      origin?: 'local' | 'server';
      record?: TsigRecord;
      context?: ErrorContext;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, {
      context: { service: 'dns', ...options.context },
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      // BADTIME may pass after a clock fix or on a retry; a bad key or signature will not.
      retryable: options.tsigError === TsigErrorCode.BADTIME,
    });
    this.tsigError = options.tsigError;
    this.origin = options.origin ?? 'local';
    this.record = options.record;
  }
}

const TYPE_TSIG = 250;
const CLASS_ANY = 255;
const HEADER_LENGTH = 12;
const DEFAULT_FUDGE = 300;

const ALGORITHMS: Record<TsigAlgorithm, { hash: 'sha256' | 'sha512'; macLength: number }> = {
  'hmac-sha256': { hash: 'sha256', macLength: 32 },
  'hmac-sha512': { hash: 'sha512', macLength: 64 },
};

const ERROR_NAMES: Record<number, string> = {
  0: 'NOERROR',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  19: 'BADMODE',
  20: 'BADNAME',
  21: 'BADALG',
  22: 'BADTRUNC',
};

/** The name of a TSIG error value, e.g. `BADSIG`. */
export function tsigErrorName(error: number): string {
  return ERROR_NAMES[error] ?? `TSIG_ERROR_${error}`;
}

/**
 * Signs a DNS message: appends a TSIG RR computed with `key` and increments ARCOUNT.
 *
 * @param message A complete wire-format DNS message without a TSIG RR.
 * @example
 * ```ts
 * import dnsPacket from 'dns-packet';
 * const key = { name: 'update-key', algorithm: 'hmac-sha256', secret: process.env.TSIG_SECRET! } as const;
 * const query = dnsPacket.encode({ id: 1, type: 'query', questions: [{ type: 'SOA', name: 'example.com' }] });
 * const { wire, mac } = signMessage(query, key);
 * // ... send `wire`, receive `answer` ...
 * const { message } = verifyMessage(answer, key, { requestMac: mac });
 * ```
 */
export function signMessage(message: Buffer, key: TsigKey, opts: SignOptions = {}): SignedMessage {
  checkHeader(message);
  const secret = decodeSecret(key);
  const algorithm = ALGORITHMS[key.algorithm];
  const nowSeconds = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const record: TsigRecord = {
    keyName: canonicalName(key.name),
    algorithm: key.algorithm,
    timeSigned: opts.timeSigned ?? nowSeconds,
    fudge: opts.fudge ?? DEFAULT_FUDGE,
    mac: Buffer.alloc(0),
    originalId: message.readUInt16BE(0),
    error: opts.error ?? TsigErrorCode.NOERROR,
    otherData: opts.otherData ?? Buffer.alloc(0),
  };
  const macInput = buildMacInput(message, record, opts.requestMac);
  record.mac = createHmac(algorithm.hash, secret).update(macInput).digest();
  return { wire: appendTsigRecord(message, record), mac: record.mac };
}

/**
 * Appends an unsigned TSIG RR (MAC size 0) carrying an error, as a server must answer a
 * request whose key is unknown (BADKEY) or whose MAC is wrong (BADSIG): RFC 8945 §5.3.2
 * forbids signing those answers.
 */
export function appendUnsignedTsig(
  message: Buffer,
  fields: Pick<TsigRecord, 'keyName' | 'algorithm' | 'timeSigned' | 'fudge' | 'error'>,
): Buffer {
  checkHeader(message);
  return appendTsigRecord(message, {
    keyName: canonicalName(fields.keyName),
    algorithm: canonicalName(fields.algorithm),
    timeSigned: fields.timeSigned,
    fudge: fields.fudge,
    mac: Buffer.alloc(0),
    originalId: message.readUInt16BE(0),
    error: fields.error,
    otherData: Buffer.alloc(0),
  });
}

/**
 * Finds and parses the TSIG RR of a message without checking it.
 * @returns undefined when the message carries no TSIG.
 * @throws {@link TsigError} `TSIG_FORMERR` when a TSIG RR is present but malformed or not last.
 */
export function readTsig(wire: Buffer): { record: TsigRecord; message: Buffer } | undefined {
  const found = locateTsig(wire);
  if (found === undefined) return undefined;
  const message = Buffer.from(wire.subarray(0, found.start));
  message.writeUInt16BE(wire.readUInt16BE(10) - 1, 10);
  return { record: found.record, message };
}

/**
 * Verifies the TSIG of a request (no `requestMac`) or of a response (with the MAC of the
 * request that was sent). Follows RFC 8945 §5.2–5.4: key check, MAC check, time check; a
 * response carrying a TSIG error from the server is reported as that error with
 * `origin: 'server'`.
 *
 * @param keys The key, or the keys a server accepts (matched by name and algorithm).
 * @throws {@link TsigError} with code `TSIG_UNSIGNED`, `TSIG_FORMERR`, `TSIG_BADKEY`,
 *   `TSIG_BADSIG`, `TSIG_BADTIME` or `TSIG_BADTRUNC`.
 * @example
 * ```ts
 * const { wire, mac } = signMessage(update, key);
 * const answer = await send(wire);
 * try {
 *   verifyMessage(answer, key, { requestMac: mac });
 * } catch (error) {
 *   if (error instanceof TsigError && error.origin === 'server') console.error(error.message);
 * }
 * ```
 */
export function verifyMessage(
  wire: Buffer,
  keys: TsigKey | readonly TsigKey[],
  opts: VerifyOptions = {},
): VerifiedMessage {
  const found = locateTsig(wire);
  if (found === undefined) {
    throw new TsigError('TSIG_UNSIGNED', 'the DNS message carries no TSIG record but one is required', {});
  }
  const { record, start } = found;
  const isResponse = opts.requestMac !== undefined;
  const context = { keyName: record.keyName, algorithm: record.algorithm };

  // A server answers BADKEY/BADSIG unsigned (RFC 8945 §5.3.2): nothing to verify, report it.
  if (isResponse && record.mac.length === 0) {
    throw serverError(record, context);
  }

  const keyList: readonly TsigKey[] = Array.isArray(keys) ? keys : [keys as TsigKey];
  const key = keyList.find(
    (candidate) =>
      canonicalName(candidate.name) === record.keyName && candidate.algorithm === record.algorithm,
  );
  if (key === undefined) {
    throw new TsigError(
      'TSIG_BADKEY',
      `TSIG key "${record.keyName}" with algorithm ${record.algorithm} is not known here (BADKEY)`,
      { tsigError: TsigErrorCode.BADKEY, record, context },
    );
  }
  const algorithm = ALGORITHMS[key.algorithm];

  // RFC 8945 §5.2.2.1: a MAC longer than the hash, or shorter than max(10, hash/2), is malformed.
  if (record.mac.length > algorithm.macLength || record.mac.length < Math.max(10, algorithm.macLength / 2)) {
    throw new TsigError(
      'TSIG_FORMERR',
      `TSIG MAC of key "${record.keyName}" has an invalid length ${record.mac.length}`,
      { record, context },
    );
  }

  const unsigned = Buffer.from(wire.subarray(0, start));
  unsigned.writeUInt16BE(wire.readUInt16BE(10) - 1, 10);
  const forMac = Buffer.from(unsigned);
  forMac.writeUInt16BE(record.originalId, 0);
  const expected = createHmac(algorithm.hash, decodeSecret(key))
    .update(buildMacInput(forMac, record, opts.requestMac))
    .digest()
    .subarray(0, record.mac.length);
  if (!timingSafeEqual(expected, record.mac)) {
    throw new TsigError(
      'TSIG_BADSIG',
      `TSIG signature of key "${record.keyName}" does not verify (BADSIG): wrong secret, or the message was altered`,
      { tsigError: TsigErrorCode.BADSIG, record, context },
    );
  }

  // The time check comes after the MAC check, so a BADTIME answer can be signed (§5.2.3).
  const nowSeconds = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - record.timeSigned) > record.fudge) {
    throw new TsigError(
      'TSIG_BADTIME',
      `TSIG time of key "${record.keyName}" is ${record.timeSigned - nowSeconds}s off this clock, ` +
        `beyond the fudge of ${record.fudge}s (BADTIME)`,
      {
        tsigError: TsigErrorCode.BADTIME,
        record,
        context: { ...context, timeSigned: record.timeSigned, now: nowSeconds },
      },
    );
  }

  // Local policy, as BIND's default: no truncated MACs.
  if (record.mac.length < algorithm.macLength) {
    throw new TsigError(
      'TSIG_BADTRUNC',
      `TSIG MAC of key "${record.keyName}" is truncated to ${record.mac.length} bytes (BADTRUNC)`,
      { tsigError: TsigErrorCode.BADTRUNC, record, context },
    );
  }

  if (isResponse && record.error !== TsigErrorCode.NOERROR) {
    throw serverError(record, context);
  }

  return { message: unsigned, mac: record.mac, keyName: record.keyName, record };
}

/** Key and algorithm names in canonical form: lowercase (ASCII only), no trailing dot. */
export function canonicalName(name: string): string {
  return name.replace(/\.$/, '').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Encodes a name in canonical wire format (RFC 4034 §6.2): uncompressed, lowercase. */
export function nameToWire(name: string): Buffer {
  const canonical = canonicalName(name);
  const labels = canonical === '' ? [] : canonical.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'utf8');
    if (bytes.length === 0 || bytes.length > 63) {
      throw new InputError('DNS_BAD_NAME', `"${name}" is not a valid domain name`, { context: { name } });
    }
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > 255) {
    throw new InputError('DNS_BAD_NAME', `"${name}" is longer than 255 bytes`, { context: { name } });
  }
  return wire;
}

function serverError(record: TsigRecord, context: ErrorContext): TsigError {
  const name = tsigErrorName(record.error);
  const why: Record<string, string> = {
    BADKEY: 'the server does not know this key name and algorithm',
    BADSIG: 'the server computed a different MAC: the secret differs from the server’s',
    BADTIME: 'the clocks of this host and the server differ by more than the fudge',
  };
  const otherTime = record.otherData.length === 6 ? record.otherData.readUIntBE(0, 6) : undefined;
  return new TsigError(
    `TSIG_${name}`,
    `the DNS server rejected TSIG key "${record.keyName}" (${name}): ${why[name] ?? 'see the server log'}`,
    {
      tsigError: record.error,
      origin: 'server',
      record,
      context: { ...context, ...(otherTime === undefined ? {} : { serverTime: otherTime }) },
    },
  );
}

function decodeSecret(key: TsigKey): Buffer {
  const algorithm = ALGORITHMS[key.algorithm] as (typeof ALGORITHMS)[TsigAlgorithm] | undefined;
  if (algorithm === undefined) {
    throw new InputError('TSIG_KEY_INVALID', `TSIG key "${key.name}" has an unsupported algorithm`, {
      context: { keyName: key.name, algorithm: String(key.algorithm) },
    });
  }
  const secret = Buffer.from(key.secret, 'base64');
  if (secret.length === 0) {
    throw new InputError('TSIG_KEY_INVALID', `TSIG key "${key.name}" has an empty or non-base64 secret`, {
      context: { keyName: key.name },
    });
  }
  return secret;
}

function checkHeader(message: Buffer): void {
  if (message.length < HEADER_LENGTH) {
    throw new InputError(
      'DNS_BAD_MESSAGE',
      `a DNS message needs a 12-byte header, got ${message.length} bytes`,
    );
  }
}

/** MAC input (RFC 8945 §4.3): [request MAC] | message | TSIG variables. */
function buildMacInput(message: Buffer, record: TsigRecord, requestMac: Buffer | undefined): Buffer {
  const parts: Buffer[] = [];
  if (requestMac !== undefined) {
    const size = Buffer.alloc(2);
    size.writeUInt16BE(requestMac.length);
    parts.push(size, requestMac);
  }
  parts.push(message, nameToWire(record.keyName));
  const classTtl = Buffer.alloc(6);
  classTtl.writeUInt16BE(CLASS_ANY, 0);
  classTtl.writeUInt32BE(0, 2);
  parts.push(classTtl, nameToWire(record.algorithm));
  const timers = Buffer.alloc(12);
  timers.writeUIntBE(record.timeSigned, 0, 6);
  timers.writeUInt16BE(record.fudge, 6);
  timers.writeUInt16BE(record.error, 8);
  timers.writeUInt16BE(record.otherData.length, 10);
  parts.push(timers, record.otherData);
  return Buffer.concat(parts);
}

function appendTsigRecord(message: Buffer, record: TsigRecord): Buffer {
  const algorithmName = nameToWire(record.algorithm);
  const rdata = Buffer.alloc(algorithmName.length + 16 + record.mac.length + record.otherData.length);
  let offset = algorithmName.copy(rdata, 0);
  rdata.writeUIntBE(record.timeSigned, offset, 6);
  rdata.writeUInt16BE(record.fudge, offset + 6);
  rdata.writeUInt16BE(record.mac.length, offset + 8);
  offset += 10;
  offset += record.mac.copy(rdata, offset);
  rdata.writeUInt16BE(record.originalId, offset);
  rdata.writeUInt16BE(record.error, offset + 2);
  rdata.writeUInt16BE(record.otherData.length, offset + 4);
  record.otherData.copy(rdata, offset + 6);

  const head = Buffer.alloc(10);
  head.writeUInt16BE(TYPE_TSIG, 0);
  head.writeUInt16BE(CLASS_ANY, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(rdata.length, 8);
  const wire = Buffer.concat([message, nameToWire(record.keyName), head, rdata]);
  const arcount = message.readUInt16BE(10);
  if (arcount === 0xffff) throw new InputError('DNS_BAD_MESSAGE', 'ARCOUNT overflow');
  wire.writeUInt16BE(arcount + 1, 10);
  return wire;
}

function formErr(message: string, cause?: unknown): TsigError {
  return new TsigError(
    'TSIG_FORMERR',
    `malformed DNS message: ${message}`,
    cause === undefined ? {} : { cause },
  );
}

/** Walks every RR; returns the TSIG RR (which must be the last additional) and where it starts. */
function locateTsig(wire: Buffer): { record: TsigRecord; start: number } | undefined {
  if (wire.length < HEADER_LENGTH) throw formErr('shorter than a DNS header');
  const qdcount = wire.readUInt16BE(4);
  const rrCount = wire.readUInt16BE(6) + wire.readUInt16BE(8) + wire.readUInt16BE(10);
  let offset = HEADER_LENGTH;
  try {
    for (let i = 0; i < qdcount; i++) offset = skipName(wire, offset) + 4;
    for (let i = 0; i < rrCount; i++) {
      const start = offset;
      const afterName = skipName(wire, offset);
      const type = wire.readUInt16BE(afterName);
      const rdlength = wire.readUInt16BE(afterName + 8);
      const rdataStart = afterName + 10;
      offset = rdataStart + rdlength;
      if (offset > wire.length) throw formErr('a record runs past the end of the message');
      if (type !== TYPE_TSIG) continue;
      if (i !== rrCount - 1 || wire.readUInt16BE(10) === 0) {
        throw formErr('the TSIG record is not the last additional record');
      }
      if (offset !== wire.length) throw formErr('bytes follow the TSIG record');
      return { record: parseTsigRdata(wire, start, rdataStart, offset), start };
    }
  } catch (error) {
    if (error instanceof TsigError) throw error;
    throw formErr('cannot walk its records', error);
  }
  return undefined;
}

function parseTsigRdata(wire: Buffer, ownerStart: number, rdataStart: number, end: number): TsigRecord {
  const keyName = readName(wire, ownerStart).name;
  const algorithm = readName(wire, rdataStart);
  let offset = algorithm.next;
  if (offset + 10 > end) throw formErr('TSIG record too short');
  const timeSigned = wire.readUIntBE(offset, 6);
  const fudge = wire.readUInt16BE(offset + 6);
  const macSize = wire.readUInt16BE(offset + 8);
  offset += 10;
  const mac = Buffer.from(wire.subarray(offset, offset + macSize));
  offset += macSize;
  if (offset + 6 > end) throw formErr('TSIG record too short');
  const originalId = wire.readUInt16BE(offset);
  const error = wire.readUInt16BE(offset + 2);
  const otherLength = wire.readUInt16BE(offset + 4);
  offset += 6;
  if (offset + otherLength !== end) throw formErr('TSIG record length does not add up');
  const otherData = Buffer.from(wire.subarray(offset, end));
  return { keyName, algorithm: algorithm.name, timeSigned, fudge, mac, originalId, error, otherData };
}

function skipName(wire: Buffer, offset: number): number {
  for (;;) {
    const length = wire[offset];
    if (length === undefined) throw formErr('a name runs past the end of the message');
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2;
    if ((length & 0xc0) !== 0) throw formErr('unknown label type');
    offset += length + 1;
  }
}

/** Reads a possibly compressed name, in canonical form. */
function readName(wire: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let next: number | undefined;
  for (let jumps = 0; jumps < 128; ) {
    const length = wire[offset];
    if (length === undefined) throw formErr('a name runs past the end of the message');
    if (length === 0) {
      return { name: canonicalName(labels.join('.')), next: next ?? offset + 1 };
    }
    if ((length & 0xc0) === 0xc0) {
      if (offset + 1 >= wire.length) throw formErr('a name runs past the end of the message');
      next ??= offset + 2;
      offset = wire.readUInt16BE(offset) & 0x3fff;
      jumps++;
      continue;
    }
    if ((length & 0xc0) !== 0) throw formErr('unknown label type');
    if (offset + 1 + length > wire.length) throw formErr('a name runs past the end of the message');
    labels.push(wire.toString('utf8', offset + 1, offset + 1 + length));
    offset += length + 1;
  }
  throw formErr('a compression loop in a name');
}
