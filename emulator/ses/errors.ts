/**
 * Errors as SES v2 sends them: an HTTP status, the `x-amzn-ErrorType` header and a JSON
 * body `{"message": ...}`. The SDK reads the name from the header and the text from
 * `message`, so these names must be the ones in the SES v2 model.
 */
export type SesErrorType =
  | 'BadRequestException'
  | 'NotFoundException'
  | 'AlreadyExistsException'
  | 'LimitExceededException'
  | 'TooManyRequestsException'
  | 'ThrottlingException'
  | 'InternalServiceErrorException'
  | 'MailFromDomainNotVerifiedException'
  | 'MessageRejected'
  | 'UnknownOperationException';

export class SesApiError extends Error {
  readonly errorType: SesErrorType;
  readonly status: number;

  constructor(errorType: SesErrorType, status: number, message: string) {
    super(message);
    this.name = errorType;
    this.errorType = errorType;
    this.status = status;
  }
}

export const badRequest = (message: string): SesApiError =>
  new SesApiError('BadRequestException', 400, message);

export const notFound = (message: string): SesApiError => new SesApiError('NotFoundException', 404, message);

export const alreadyExists = (message: string): SesApiError =>
  new SesApiError('AlreadyExistsException', 400, message);

export const limitExceeded = (message: string): SesApiError =>
  new SesApiError('LimitExceededException', 400, message);

export const tooManyRequests = (message = 'Rate exceeded'): SesApiError =>
  new SesApiError('TooManyRequestsException', 429, message);

export const throttlingException = (message = 'Rate exceeded'): SesApiError =>
  new SesApiError('ThrottlingException', 400, message);

export const internalError = (message: string): SesApiError =>
  new SesApiError('InternalServiceErrorException', 500, message);
