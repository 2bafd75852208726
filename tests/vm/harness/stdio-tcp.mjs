// The host end of a qemu `guestfwd=…-cmd:` forward: slirp starts this once per guest connection
// with the connection as stdin/stdout; it pipes both ways to 127.0.0.1:<port> (argv[2]).
import { connect } from 'node:net';

const socket = connect(Number(process.argv[2]), '127.0.0.1');
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', () => process.exit(0));
socket.on('close', () => process.exit(0));
process.stdin.on('end', () => socket.end());
