// What the agent needs only while it checks or installs: TUF (tuf-js), the registry client
// (undici), the bundle reader, the fetcher and the unpacker. steps.ts loads this module with
// import() on first use, so an idle agent holds none of it (image/bundle.mjs puts it in a chunk).
export { best, checkAll, verifyBundle } from './checker.js';
export { fetchImage, missingBytes } from './fetch/fetch-image.js';
export { bundleImageSource, registrySource } from './fetch/sources.js';
export { BundleReader } from '../shared/release/bundle-format.js';
export { stageNeeds, stageSlot } from './slots/stage.js';
export { fleetTufSource } from './fleet/tuf-fetcher.js';
export { checkRelease } from './trust/tuf-check.js';
