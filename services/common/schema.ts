// The TypeBox builders we use, re-exported by name. Import as `import * as T from '…/schema.js'`:
// esbuild then bundles only the builders actually called. (`import Type from 'typebox'` pulls
// the whole library, ~380 KB and ~15 MB of RSS per process — measured, see README.)
export {
  Object, String, Integer, Number, Boolean, Array, Union, Literal, Null, Optional, Record, Unknown, Any, Unsafe, Enum,
} from 'typebox';
export type { Static, TSchema } from 'typebox';
