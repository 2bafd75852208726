// Integration tests run the built entries (dist/), exactly what `./build.sh run` starts.
// Bundling takes well under a second, so every test run bundles fresh sources.
import { bundle } from '../../image/bundle.mjs';

export default async function setup(): Promise<void> {
  await bundle({ quiet: true });
}
