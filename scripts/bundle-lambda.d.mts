/** Types of bundle-lambda.mjs, for the TypeScript tests and tools that build the bundle in-process. */
export declare const MAX_BYTES: number;
export interface BundleOptions {
  /** Default: infra/lambda. */
  outdir?: string;
  /** Default true. */
  minify?: boolean;
}
export declare function bundleLambda(
  options?: BundleOptions,
): Promise<{ outfile: string; bytes: number; inputs: number }>;
