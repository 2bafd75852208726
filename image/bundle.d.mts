// Types of image/bundle.mjs (plain ESM so build.sh can run it without a TypeScript loader).
export declare const EXTERNAL: readonly string[];

export interface BundleOptions {
  outDir?: string;
  minify?: boolean;
  quiet?: boolean;
  sourcemap?: boolean | 'linked' | 'inline' | 'external' | 'both';
  /** Seconds since the epoch; fixes the build time embedded in the bundle. */
  sourceDateEpoch?: number | string;
  /** Also return `inputs`: every source file bundled, relative to the repo. */
  metafile?: boolean;
  /** Overrides package.json's version (test releases). */
  version?: string;
  /** The TUF root.json to ship as dist/ota/root.json (default ota/trust/root.json when present). */
  trustRoot?: string;
}

export declare function bundle(options?: BundleOptions): Promise<{ outDir: string; ms: number; inputs: string[] }>;
