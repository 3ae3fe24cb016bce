/**
 * Domains in flight at once by default. SES, not byodkim, sets the pace of a fleet pass (one
 * request per second per region, kept by the SES budget whatever the concurrency), so this
 * is about batching: the scheduled health reads of the domains in flight share SES v1 calls
 * of up to 100 identities, and 64 in flight fill batches of about 64.
 */
export const DEFAULT_CONCURRENCY = 64;
