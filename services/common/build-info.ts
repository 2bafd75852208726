// Version and revision, fixed at bundle time by esbuild's `define` (see image/bundle.mjs).
// Unbundled code (unit tests) sees the development defaults.
declare const LUCID_BUILD: { version: string; revision: string; builtAt: string } | undefined;

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly builtAt: string;
}

export const buildInfo: BuildInfo =
  typeof LUCID_BUILD !== 'undefined' ? LUCID_BUILD : { version: '0.0.0-dev', revision: 'unknown', builtAt: 'unknown' };
