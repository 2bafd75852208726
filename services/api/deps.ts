// What the API needs from the rest of its process, as narrow ports. The core entry wires them.
import type { Logger } from '../common/log.js';
import type { MetricsRegistry } from '../common/metrics.js';
import type { HalEvent, RequestMap, RequestOp, SupervisorSnapshot } from '../common/ipc.js';
import type { SystemStatus } from './schemas/status.js';
import type { AuthPort } from './access.js';
import type { TlsInfo } from '../common/tls.js';

/** The HTTPS side, for the plain-HTTP rule, HSTS and the certificate routes. */
export interface TlsPort {
  readonly httpsPort: number;
  /** The certificate served now (it changes when re-issued). */
  info(): TlsInfo;
  /** Its PEM (the leaf, for a person to install). */
  certificatePem(): string;
}

export type SystemReading = Omit<SystemStatus, 'loadavg'> & { readonly loadavg: readonly number[] | null };

export interface SupervisorView {
  /** False when the process runs without a supervisor (standalone, selftest). */
  readonly attached: boolean;
  readonly snapshot: SupervisorSnapshot | null;
  request<Op extends RequestOp>(op: Op, args: RequestMap[Op]['args']): Promise<RequestMap[Op]['result']>;
  onEvent(listener: (e: HalEvent) => void): () => void;
}

/** The OTA agent, reached over its socket (ota/shared/agent-socket.ts); core wires it. */
export interface OtaPort {
  /** The agent's status document, or null when it does not answer quickly. */
  status(): Promise<import('../../ota/shared/status.js').OtaStatus | null>;
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Where uploaded bundles are stored (on the data volume). */
  readonly incomingDir: string;
  readonly maxBundleBytes: number;
}

export interface ApiDeps {
  readonly log: Logger;
  readonly version: string;
  readonly revision: string;
  readonly identity: { readonly nodeId: string; readonly publicKeyHex: string };
  readonly supervisor: SupervisorView;
  /** System facts from /proc and /sys (the HAL's SystemInfoSource fits). */
  readonly system: { read(): Promise<SystemReading> };
  readonly metrics: MetricsRegistry;
  /** Folder with the built web UI (index.html, app.js); null serves no UI. */
  readonly webRoot: string | null;
  /** Extra route plugins from later areas (sessions, auth, ledger, …), registered under the same rules. */
  readonly routes?: ReadonlyArray<import('fastify').FastifyPluginAsync>;
  readonly bodyLimit?: number;
  /** Small answers of one event-loop turn written together, at most this many (write-batch.ts); default 16, 1 = off. */
  readonly writeBatch?: number;
  /**
   * Who is calling (services/auth fits). Without it every request is anonymous, so every
   * non-public route answers 401: forgetting to wire auth fails closed, never open.
   */
  readonly auth?: AuthPort;
  /**
   * When the API listens for real (core): HTTPS is served, and plain HTTP from the network
   * answers only what services/common/plain-http.ts allows. Without it (inject() in tests, the
   * image selftest) there is no plain-HTTP rule and no certificate route.
   */
  readonly tls?: TlsPort;
  /** With `tls`: false leaves the plain-HTTP rule out (in-process inject() tests only). Default true. */
  readonly plainHttpRule?: boolean;
  /** The update agent; without it the OTA routes are absent and status says `ota: null`. */
  readonly ota?: OtaPort;
}
