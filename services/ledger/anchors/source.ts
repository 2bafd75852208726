// The ledger's port for completed sessions. The sessions service (issue 3) exports a crash-safe
// feed of completed manifests; core.ts adapts it to this shape. Anything that can list completed
// manifests after a cursor and announce new ones fits; tests feed one directly.

export interface CompletedManifest {
  readonly sessionId: string;
  /** SHA-256 of the canonical manifest without its signature, 64 hex characters. */
  readonly manifestHash: string;
  /** RFC 6962 root over the stored (encrypted) chunk objects, 64 hex characters. */
  readonly merkleRoot: string;
  readonly completedAt: number | string;
  /** The manifest's sizes: the anchor carries them (relay credits and storage challenges use them). */
  readonly chunkCount: number;
  readonly chunkSize: number;
  readonly totalBytes: number;
}

export interface AnchorSource {
  /**
   * Completed manifests after `cursor` (null: from the beginning), oldest first, and the cursor
   * that follows the last one (null when nothing was returned and there is no cursor yet).
   */
  listCompletedSince(cursor: string | null, limit: number): Promise<{ readonly items: readonly CompletedManifest[]; readonly cursor: string | null }>;
  /** Called when a session completes; returns an unsubscribe function. */
  onCompleted(listener: (item: CompletedManifest) => void): () => void;
}

/** An in-memory source (tests, and a stand-in until the sessions feed is connected). */
export class MemoryAnchorSource implements AnchorSource {
  private readonly items: CompletedManifest[] = [];
  private readonly listeners = new Set<(item: CompletedManifest) => void>();

  complete(item: CompletedManifest): void {
    this.items.push(item);
    for (const l of this.listeners) l(item);
  }

  async listCompletedSince(cursor: string | null, limit: number): Promise<{ items: CompletedManifest[]; cursor: string | null }> {
    const from = cursor === null ? 0 : Number(cursor);
    const items = this.items.slice(from, from + limit);
    return { items, cursor: items.length > 0 ? String(from + items.length) : cursor };
  }

  onCompleted(listener: (item: CompletedManifest) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
