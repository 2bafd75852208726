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
  API_ERR_HTTPS_REQUIRED: { status: 403, message: 'use HTTPS: plain HTTP from the network answers nothing that can carry a credential' },

  // Supervisor
  SUP_ERR_UNKNOWN_CHILD: { status: 404, message: 'no child process with that name' },
  SUP_ERR_NOT_CONNECTED: { status: 503, message: 'not connected to the supervisor' },
  SUP_ERR_TIMEOUT: { status: 504, message: 'the supervisor did not answer in time' },
  SUP_ERR_LOCK_HELD: { status: 409, message: 'update lock is held' },
  SUP_ERR_UPDATE_PENDING: { status: 409, message: 'an update is switching slots: new update locks are refused' },
  SUP_ERR_LOCKS_BUSY: { status: 409, message: 'update locks are held by other processes' },
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
  // Auth (login, tokens, RBAC, lockout, audit, emergency)
  AUTH_ERR_UNAUTHENTICATED: { status: 401, message: 'log in first: no valid access token' },
  AUTH_ERR_TOKEN_EXPIRED: { status: 401, message: 'the token has expired' },
  AUTH_ERR_TOKEN_INVALID: { status: 401, message: 'the token is invalid, revoked or bound to another client' },
  AUTH_ERR_FORBIDDEN: { status: 403, message: 'your role does not allow this' },
  AUTH_ERR_BAD_CREDENTIALS: { status: 401, message: 'wrong username or password' },
  AUTH_ERR_LOCKED: { status: 423, message: 'account locked after too many failed logins' },
  AUTH_ERR_RATE_LIMITED: { status: 429, message: 'too many requests' },
  AUTH_ERR_REFRESH_REUSED: { status: 401, message: 'refresh token was already used; the whole session is revoked' },
  AUTH_ERR_SETUP_DONE: { status: 409, message: 'the appliance is already set up' },
  AUTH_ERR_SETUP_CODE: { status: 401, message: 'wrong setup code' },
  AUTH_ERR_WEAK_PASSWORD: { status: 400, message: 'password too short or too common' },
  AUTH_ERR_USER_EXISTS: { status: 409, message: 'a user with that name exists' },
  AUTH_ERR_USER_NOT_FOUND: { status: 404, message: 'no such user' },
  AUTH_ERR_ROLE_TOO_HIGH: { status: 403, message: 'no one grants a role above their own' },
  AUTH_ERR_LAST_SUPER_ADMIN: { status: 409, message: 'the last super_admin cannot be removed or demoted' },
  AUTH_ERR_NONCE: { status: 401, message: 'no valid challenge for this address: expired, used or never issued' },
  AUTH_ERR_BAD_SIGNATURE: { status: 401, message: 'the signature does not verify for this address' },
  AUTH_ERR_WALLET_UNLINKED: { status: 401, message: 'this wallet address is not linked to a user' },
  AUTH_ERR_WALLET_LINKED: { status: 409, message: 'this wallet address is already linked to a user' },
  AUTH_ERR_LOCKDOWN: { status: 403, message: 'the appliance is locked down: only admins may act' },
  AUTH_ERR_SESSIONS_DISABLED: { status: 503, message: 'new sessions are disabled by an emergency control' },
  AUTH_ERR_APPROVAL_SELF: { status: 409, message: 'a second admin must approve this request' },
  AUTH_ERR_APPROVAL_NOT_INDEPENDENT: { status: 409, message: 'this admin may not approve this request (not independent of the requester)' },
  AUTH_ERR_DEVICE_CODE: { status: 403, message: 'the device code is wrong, expired or not allowed for this request' },
  AUTH_ERR_REQUEST_NOT_FOUND: { status: 404, message: 'no such pending request' },
  AUTH_ERR_USERNAME_INVALID: { status: 400, message: 'not a valid username: invisible, control or white-space characters inside' },
  AUDIT_ERR_CORRUPT: { status: 500, message: 'the audit chain does not verify' },
  HAL_ERR_REJECTED: { status: 403, message: 'the action was refused on the device' },
  HAL_ERR_PROTOCOL: { status: 502, message: 'the device answered with an unexpected status' },

  // OCI images and registries (ota/shared/oci)
  OCI_ERR_HTTP: { status: 502, message: 'the registry answered with an unexpected status' },
  OCI_ERR_NOT_FOUND: { status: 404, message: 'no such manifest or blob' },
  OCI_ERR_DIGEST_MISMATCH: { status: 502, message: 'content does not match its digest' },
  OCI_ERR_SIZE_MISMATCH: { status: 502, message: 'content is not the size its descriptor says' },
  OCI_ERR_BAD_DIGEST: { status: 400, message: 'not a sha256 digest' },
  OCI_ERR_UNSUPPORTED: { status: 415, message: 'unsupported OCI media type' },

  // OTA: releases, trust, downloads, slots (ota/)
  OTA_ERR_BAD_TAR: { status: 422, message: 'a layer is not a well-formed tar archive' },
  OTA_ERR_TAR_ESCAPE: { status: 422, message: 'a layer entry would reach outside its slot' },
  OTA_ERR_TAR_UNSUPPORTED: { status: 422, message: 'a layer holds an entry type that is not unpacked (device, fifo)' },
  OTA_ERR_TOO_LARGE: { status: 413, message: 'larger than the signed release metadata allows' },
  OTA_ERR_BAD_RELEASE: { status: 422, message: 'the release document or image is malformed' },
  OTA_ERR_NO_PLATFORM: { status: 422, message: 'the release has no image for this device\'s architecture' },
  OTA_ERR_BAD_BUNDLE: { status: 422, message: 'not a valid offline bundle' },
  OTA_ERR_NO_RELEASE: { status: 404, message: 'no release is signed for this channel' },
  OTA_ERR_UNTRUSTED: { status: 422, message: 'release metadata does not verify' },
  OTA_ERR_METADATA_EXPIRED: { status: 422, message: 'release metadata expired — check the clock' },
  OTA_ERR_ROLLBACK: { status: 422, message: 'release metadata is older than what this device already trusts' },
  OTA_ERR_DOWNGRADE: { status: 409, message: 'the release is not newer than the installed version' },
  OTA_ERR_BELOW_MINIMUM: { status: 409, message: 'the installed version is below the release\'s minimum' },
  OTA_ERR_NO_SPACE: { status: 507, message: 'not enough free space for the update' },
  OTA_ERR_UNREACHABLE: { status: 502, message: 'the release repository or registry could not be reached' },
  OTA_ERR_BUSY: { status: 409, message: 'an update is already in progress' },
  OTA_ERR_NOT_CONFIGURED: { status: 409, message: 'updates are not configured on this appliance' },
  OTA_ERR_NOTHING_TO_INSTALL: { status: 409, message: 'no newer release is available' },
  OTA_ERR_NO_PREVIOUS: { status: 409, message: 'there is no intact previous version to roll back to' },
  OTA_ERR_AGENT_UNAVAILABLE: { status: 503, message: 'the update agent is not running' },
  OTA_ERR_HEALTH_GATE: { status: 503, message: 'the new version failed its health gate' },
  OTA_ERR_SLOT_BUSY: { status: 409, message: 'the inactive slot is not writable until the appliance restarts' },

  // Fleet server (ota/server)
  FLEET_ERR_TOKEN_INVALID: { status: 401, message: 'the enrollment token is unknown, used or expired' },
  FLEET_ERR_BAD_PROOF: { status: 401, message: 'the device did not prove its node key' },
  FLEET_ERR_UNKNOWN_DEVICE: { status: 404, message: 'no enrolled device with that id' },
  FLEET_ERR_BAD_SIGNATURE: { status: 401, message: "the message is not signed by the device's enrolled key" },
  FLEET_ERR_REPLAY: { status: 409, message: 'the message sequence number is not newer than the last one accepted' },
  FLEET_ERR_BAD_MESSAGE: { status: 400, message: 'the signed payload is not a valid fleet message' },
  FLEET_ERR_NOT_IN_ROLLOUT: { status: 409, message: 'the device is not a member of that rollout' },
  FLEET_ERR_NOT_FOUND: { status: 404, message: 'no such fleet object' },
  FLEET_ERR_EXISTS: { status: 409, message: 'a fleet object with that name exists' },
  FLEET_ERR_RELEASE_UNSIGNED: { status: 422, message: 'the TUF repository does not sign that release' },
  FLEET_ERR_CHANNEL_SYNC: { status: 502, message: "the channel's TUF repository could not be read or did not verify" },
  FLEET_ERR_INVALID_TRANSITION: { status: 409, message: 'the rollout cannot do that in its current state' },
  FLEET_ERR_BAD_STAGES: { status: 400, message: 'the rollout stages are not valid' },
  FLEET_ERR_EMPTY_GROUP: { status: 409, message: 'the group has no device free for a rollout' },
  FLEET_ERR_CONFLICT: { status: 409, message: 'the object changed meanwhile; try again' },

  // Ledger (consensus, anchors)
  LEDGER_ERR_GENESIS_INVALID: { status: 500, message: 'the genesis document is invalid' },
  LEDGER_ERR_GENESIS_MISMATCH: { status: 500, message: 'the chain in the data directory was made from another genesis' },
  LEDGER_ERR_NOT_VALIDATOR: { status: 409, message: 'this node is not a validator' },
  LEDGER_ERR_ALREADY_VALIDATOR: { status: 409, message: 'this node is already a validator' },
  LEDGER_ERR_JOIN_NOT_APPROVED: { status: 409, message: 'validators holding more than 2/3 of the power have not approved this join (yet)' },
  LEDGER_ERR_JOINER_IS_VALIDATOR: { status: 409, message: 'the node to approve is already a validator' },
  LEDGER_ERR_JOIN_POWER: { status: 400, message: 'the join power is outside 1..maxJoinPower of the genesis' },
  LEDGER_ERR_TOO_MANY_APPROVALS: { status: 409, message: 'this validator already holds the most open approvals it may' },
  LEDGER_ERR_LAST_VALIDATOR: { status: 409, message: 'leaving would leave the chain without a validator to decide its blocks' },
  LEDGER_ERR_TX_REFUSED: { status: 409, message: 'the chain would refuse this transaction now' },
  LEDGER_ERR_STATEMENT_MISMATCH: { status: 409, message: 'the payout statement differs from what the chain\'s credits give' },
  LEDGER_ERR_STATEMENT_INVALID: { status: 409, message: 'the payout statement is not the next one the chain can state' },
  LEDGER_ERR_ANCHOR_NOT_FOUND: { status: 404, message: 'no final anchor for that manifest hash' },
  LEDGER_ERR_BLOCK_NOT_FOUND: { status: 404, message: 'no block at that height' },
  LEDGER_ERR_SIGN_GUARD: { status: 500, message: 'the double-sign guard file is unreadable' },
  LEDGER_ERR_NOT_READY: { status: 503, message: 'the ledger is not running' },

  // Sessions
  SESS_ERR_CREATION_DISABLED: { status: 503, message: 'new sessions are disabled by an emergency control' },
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
  SESS_ERR_DAMAGED: { status: 409, message: 'the session\'s stored data is damaged; it is quarantined' },

  // Chunks
  CHUNK_ERR_NOT_FOUND: { status: 404, message: 'no such chunk' },
  CHUNK_ERR_CORRUPT: { status: 500, message: 'a stored chunk failed its integrity check' },
  CHUNK_ERR_KEY_INVALID: { status: 500, message: 'the session data key cannot be unwrapped' },
  CHUNK_ERR_MASTER_KEY: { status: 500, message: 'the master key file is unreadable or malformed' },

  // Payouts (services/payout; see its README)
  PAYOUT_ERR_UNAVAILABLE: { status: 503, message: 'the payout process is not running' },
  PAYOUT_ERR_DISABLED: { status: 404, message: 'payouts are not enabled on this appliance' },
  PAYOUT_ERR_IPC_VERSION: { status: 400, message: 'unsupported payout protocol version' },
  PAYOUT_ERR_IPC_SCHEMA: { status: 400, message: 'malformed message to the payout process' },
  PAYOUT_ERR_IPC_REPLAY: { status: 409, message: 'message replayed or outside its time window' },
  PAYOUT_ERR_NOT_FOUND: { status: 404, message: 'no such payout' },
  PAYOUT_ERR_DUPLICATE: { status: 409, message: 'a payout with that id exists' },
  PAYOUT_ERR_STATE: { status: 409, message: 'the state of the payout does not allow this' },
  PAYOUT_ERR_BELOW_MINIMUM: { status: 422, message: 'below the 10 USDT minimum payout' },
  PAYOUT_ERR_OVER_LIMIT: { status: 422, message: 'above the 10,000 USDT per-payout limit' },
  PAYOUT_ERR_DAILY_LIMIT: { status: 409, message: 'the daily payout total would be exceeded' },
  PAYOUT_ERR_SECOND_APPROVAL: { status: 403, message: 'a second admin must approve this payout' },
  PAYOUT_ERR_SAME_APPROVER: { status: 409, message: 'the same approver signed twice' },
  PAYOUT_ERR_APPROVAL_INVALID: { status: 403, message: 'the approval signature does not verify' },
  PAYOUT_ERR_ADDRESS_NOT_REGISTERED: { status: 409, message: 'the operator has no registered payout address' },
  PAYOUT_ERR_ADDRESS_CHANGE: { status: 409, message: 'the address change is stale or malformed' },
  PAYOUT_ERR_BAD_ADDRESS: { status: 400, message: 'not a TRON address' },
  PAYOUT_ERR_TX_MALFORMED: { status: 422, message: 'not a plain TRC-20 transfer' },
  PAYOUT_ERR_TX_MISMATCH: { status: 409, message: 'the transaction differs from the approved request' },
  PAYOUT_ERR_HEADER_EXPIRED: { status: 409, message: 'the reference block is too old' },
  PAYOUT_ERR_LOCKED: { status: 423, message: 'the payout keystore is locked' },
  PAYOUT_ERR_PASSPHRASE: { status: 401, message: 'wrong keystore passphrase' },
  PAYOUT_ERR_KEYSTORE: { status: 409, message: 'keystore missing, exists or unreadable' },
  PAYOUT_ERR_NO_SIGNER: { status: 409, message: 'no signing method is set up' },
  PAYOUT_ERR_SIGNER_MISMATCH: { status: 409, message: 'the signer is not the payout wallet' },
  PAYOUT_ERR_NODE: { status: 502, message: 'the TRON node failed' },
  PAYOUT_ERR_STATEMENT: { status: 409, message: 'the statement does not verify' },
  PAYOUT_ERR_STATEMENT_NOT_ANCHORED: { status: 409, message: 'the statement is not final on the chain (yet)' },
  PAYOUT_ERR_STATEMENT_MISMATCH: { status: 409, message: 'the chain made another statement final than this process computed' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
