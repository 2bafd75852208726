/** Sends one datagram to a unix socket path ('@name' = abstract). Throws with the errno text. */
export declare function send(path: string, message: string): void;
/**
 * Drops the page-table entries of this process's read-only, never-written private file mappings
 * (madvise MADV_DONTNEED; drop_pages.c). Returns the bytes of RSS they held.
 */
export declare function dropFilePages(): number;
