// The one catalogue of error codes. Every code has an HTTP status (used when it reaches the API)
// and a default message. `services/common/errors.md` documents each; a test keeps them in step.
// Add codes freely; never rename or reuse one (clients outside this repo match on them).

export interface ErrorEntry {
  readonly status: number;
  readonly message: string;
}

export const ERROR_CATALOGUE = {
  // Configuration (boot-time; reported as one line, never over HTTP)
  CFG_ERR_INVALID: { status: 500, message: 'invalid configuration' },

  // Generic request errors (API layer)
  API_ERR_VALIDATION: { status: 400, message: 'request does not match the route schema' },
  API_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  API_ERR_METHOD: { status: 405, message: 'method not allowed' },
  API_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body too large' },
  API_ERR_UNSUPPORTED_MEDIA: { status: 415, message: 'unsupported content type' },
  API_ERR_BAD_REQUEST: { status: 400, message: 'malformed request' },
  API_ERR_INTERNAL: { status: 500, message: 'internal error' },
  API_ERR_UNAVAILABLE: { status: 503, message: 'service not ready' },

  // Supervisor
  SUP_ERR_UNKNOWN_CHILD: { status: 404, message: 'no child process with that name' },
  SUP_ERR_NOT_CONNECTED: { status: 503, message: 'not connected to the supervisor' },
  SUP_ERR_TIMEOUT: { status: 504, message: 'the supervisor did not answer in time' },
  SUP_ERR_LOCK_HELD: { status: 409, message: 'update lock is held' },
  SUP_ERR_BAD_REQUEST: { status: 400, message: 'malformed request to the supervisor' },
  SUP_ERR_INTERNAL: { status: 500, message: 'the supervisor failed to handle a request' },

  // HAL
  HAL_ERR_UNAVAILABLE: { status: 503, message: 'hardware interface not available' },
  HAL_ERR_NOT_SIMULATED: { status: 409, message: 'only the simulated driver accepts this action' },
  HAL_ERR_IO: { status: 500, message: 'hardware I/O failed' },

  // Store
  STORE_ERR_LOCKED: { status: 500, message: 'the database is open in another process' },
  STORE_ERR_CORRUPT: { status: 500, message: 'the database is corrupt' },
  STORE_ERR_CLOSED: { status: 503, message: 'the database is closed' },

  // Identity
  ID_ERR_KEY_PERMISSIONS: { status: 500, message: 'node key file has unsafe permissions' },
  ID_ERR_KEY_INVALID: { status: 500, message: 'node key file is unreadable or not an Ed25519 key' },

  // Sessions
  SESS_ERR_NOT_FOUND: { status: 404, message: 'no such session' },
  SESS_ERR_INVALID_TRANSITION: { status: 409, message: 'the session cannot make this transition from its current state' },
  SESS_ERR_INVALID_STATE: { status: 409, message: 'the session is not in a state that allows this' },
  SESS_ERR_OFFSET_GAP: { status: 409, message: 'the upload offset is past the acknowledged end of the session' },
  SESS_ERR_OFFSET_MISMATCH: { status: 409, message: 'the re-sent bytes differ from the bytes already stored at that offset' },
  SESS_ERR_BUSY: { status: 409, message: 'another operation on this session is in progress' },
  SESS_ERR_BAD_OPTION: { status: 400, message: 'invalid session option' },
  SESS_ERR_QUOTA: { status: 413, message: 'the upload would exceed the session quota' },
  SESS_ERR_RANGE: { status: 416, message: 'the requested range is not satisfiable' },
  SESS_ERR_DELETED: { status: 410, message: 'the session was deleted and its data destroyed' },
  SESS_ERR_STORAGE_FULL: { status: 507, message: 'not enough free storage; the session was paused' },

  // Chunks
  CHUNK_ERR_NOT_FOUND: { status: 404, message: 'no such chunk' },
  CHUNK_ERR_CORRUPT: { status: 500, message: 'a stored chunk failed its integrity check' },
  CHUNK_ERR_KEY_INVALID: { status: 500, message: 'the session data key cannot be unwrapped' },
  CHUNK_ERR_MASTER_KEY: { status: 500, message: 'the master key file is unreadable or malformed' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
