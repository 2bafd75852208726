// The PostgreSQL schema of the fleet store (pg-store.ts). Records whose shape only the server reads
// are JSONB documents; what SQL filters, joins or compares atomically is a column of its own.
// Applied at start under an advisory lock, so instances starting together do not race on it.
// fleet_devices leaves 30 % of each page free: every check-in rewrites its device's row, and a
// new row version that fits on its page is a heap-only (HOT) update that touches no index
// (with full pages 39 % of the check-ins also inserted into the primary key and the tags' GIN
// index — ota/server/README.md).
export const SCHEMA_LOCK = 0x6c756369; // 'luci'
export const AUDIT_LOCK = 0x61756469; // 'audi'

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS fleet_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_users (id text PRIMARY KEY, username text UNIQUE NOT NULL, rev integer NOT NULL, doc jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_families (id text PRIMARY KEY, user_id text NOT NULL, jti text NOT NULL, expires_at bigint NOT NULL, revoked boolean NOT NULL DEFAULT false);
CREATE INDEX IF NOT EXISTS fleet_families_user ON fleet_families (user_id);
CREATE TABLE IF NOT EXISTS fleet_tokens (hash text PRIMARY KEY, created_at bigint NOT NULL, expires_at bigint NOT NULL, used_by text, used_at bigint, doc jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_devices (
  id text PRIMARY KEY, public_key text NOT NULL, name text NOT NULL, tags text[] NOT NULL, enrolled_at bigint NOT NULL,
  last_seen bigint NOT NULL, last_seq bigint NOT NULL, status jsonb NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS fleet_devices_tags ON fleet_devices USING gin (tags);
CREATE TABLE IF NOT EXISTS fleet_groups (id text PRIMARY KEY, name text UNIQUE NOT NULL, doc jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_channels (name text PRIMARY KEY, ts_version bigint NOT NULL DEFAULT 0, doc jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_tuf_files (channel text NOT NULL, path text NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (channel, path));
CREATE TABLE IF NOT EXISTS fleet_releases (id text PRIMARY KEY, channel text NOT NULL, current boolean NOT NULL, seen_at bigint NOT NULL, doc jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_rollouts (id text PRIMARY KEY, state text NOT NULL, created_at bigint NOT NULL, rev integer NOT NULL, doc jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_members (
  rollout_id text NOT NULL, ord integer NOT NULL, device_id text NOT NULL, state text NOT NULL, reason text, attempt integer NOT NULL,
  updated_at bigint NOT NULL, committed_at bigint, PRIMARY KEY (rollout_id, ord), UNIQUE (rollout_id, device_id)
);
CREATE TABLE IF NOT EXISTS fleet_claims (device_id text PRIMARY KEY, rollout_id text NOT NULL);
CREATE INDEX IF NOT EXISTS fleet_claims_rollout ON fleet_claims (rollout_id);
CREATE TABLE IF NOT EXISTS fleet_approvals (id text PRIMARY KEY, created_at bigint NOT NULL, doc jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_audit (seq bigint PRIMARY KEY, hash text NOT NULL, doc jsonb NOT NULL);
`;
