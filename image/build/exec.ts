// Running the host tools the build needs (apt-get, dpkg-deb, npm, node-gyp, strip): argument
// vectors only, never a shell, and the tool's stderr in the error when it fails.
import { spawn } from 'node:child_process';

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Print the tool's output as it runs (long steps: compiles, downloads). */
  readonly verbose?: boolean;
  readonly input?: string;
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly code: number | null, readonly stderr: string) {
    super(`${command} failed (exit ${code}):\n${stderr.slice(-4000)}`);
    this.name = 'CommandError';
  }
}

/** Runs `cmd args…`, resolves with stdout; rejects with stderr on a non-zero exit. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } as NodeJS.ProcessEnv : process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => { out.push(d); if (options.verbose) process.stderr.write(d); });
    child.stderr!.on('data', (d: Buffer) => { err.push(d); if (options.verbose) process.stderr.write(d); });
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.on('error', (e) => reject(new CommandError(`${cmd} ${args.join(' ')}`, null, e.message)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new CommandError(`${cmd} ${args.join(' ')}`, code, Buffer.concat(err).toString('utf8') || Buffer.concat(out).toString('utf8')));
    });
  });
}
