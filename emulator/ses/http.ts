/** Small HTTP helpers shared by the v2 (JSON), v1 (XML) and control endpoints. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, internalError, SesApiError } from './errors.js';

export type Json = Record<string, unknown>;

const MAX_BODY_BYTES = 1_048_576;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw badRequest('Request body too large.');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJsonBody(text: string): Json {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return value as Json;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'application/json', JSON.stringify(value), headers);
}

export function sendXml(res: ServerResponse, status: number, body: string): void {
  send(res, status, 'text/xml', body);
}

export function sendEmpty(res: ServerResponse): void {
  res.writeHead(204, { 'x-amzn-requestid': randomUUID() });
  res.end();
}

/** A v2 error: status, `x-amzn-ErrorType` and `{"message"}` (SPEC.md §1). */
export function sendJsonError(res: ServerResponse, error: SesApiError): void {
  sendJson(res, error.status, { message: error.message }, { 'x-amzn-errortype': error.errorType });
}

export function asApiError(error: unknown): SesApiError {
  if (error instanceof SesApiError) return error;
  if (error instanceof RangeError) return badRequest(error.message);
  return internalError(`emulator error: ${describe(error)}`);
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(body);
}
