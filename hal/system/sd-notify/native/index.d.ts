/** Sends one datagram to a unix socket path ('@name' = abstract). Throws with the errno text. */
export declare function send(path: string, message: string): void;
