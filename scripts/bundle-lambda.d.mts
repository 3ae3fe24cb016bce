/** Types of bundle-lambda.mjs, for the TypeScript tests and tools that build the bundle in-process. */
export declare const MAX_BYTES: number;
export declare const MAX_TOTAL_BYTES: number;
export interface BundleOptions {
  /** Default: infra/lambda. */
  outdir?: string;
  /** Default true. */
  minify?: boolean;
}
export declare function bundleLambda(options?: BundleOptions): Promise<{
  outfile: string;
  /** What importing index.mjs loads: itself and its static imports. */
  bytes: number;
  /** Every file of the bundle, the chunks loaded on demand included (source maps excluded). */
  totalBytes: number;
  files: number;
  inputs: number;
}>;
