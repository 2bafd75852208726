// A crash image of the running guest's data disk, and its recovery outside the guest.
//   take:    QMP `stop` (vCPUs halted; qemu drains the requests in flight), a sparse copy of the
//            raw disk file, QMP `cont`. The disk is opened cache=none, so the file holds every
//            write the guest kernel issued and qemu completed, and nothing of the guest's page
//            cache: the bytes a SIGKILL of qemu at that instant would leave (harness/qmp.ts).
//   recover: `e2fsck -fy` replays ext4's journal and processes the orphan list, as the kernel's
//            mount would (exit ≥ 4, errors left uncorrected, is a finding of its own); `debugfs
//            rdump` copies the file system's tree (owners and modes kept) into a host directory
//            for the appliance to start on natively.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Qmp } from '../harness/qmp.js';

const exec = promisify(execFile);

/** A sparse copy (a 2 GiB disk holds far less data than that). */
export async function copySparse(from: string, to: string): Promise<void> {
  await exec('cp', ['--sparse=always', from, to]);
}

/** Freezes the guest, copies its data disk to `dest`, lets it run on; returns the pause in ms. */
export async function takeCrashImage(qmp: Qmp, disk: string, dest: string): Promise<number> {
  await qmp.execute('stop');
  const t0 = performance.now();
  try {
    await copySparse(disk, dest);
  } finally {
    await qmp.execute('cont');
  }
  return Math.round(performance.now() - t0);
}

export interface Recovered {
  readonly dataDir: string;
  readonly fsckCode: number;
  readonly fsckOutput: string;
}

/** Replays the journal of `image` (in place) and copies its files into `outDir`. */
export async function recoverImage(image: string, outDir: string): Promise<Recovered> {
  let fsckCode = 0;
  let fsckOutput = '';
  try {
    const r = await exec('e2fsck', ['-fy', image], { maxBuffer: 16 << 20 });
    fsckOutput = r.stdout + r.stderr;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    fsckCode = typeof e.code === 'number' ? e.code : 8;
    fsckOutput = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  await mkdir(outDir, { recursive: true });
  if (fsckCode < 4) await exec('debugfs', ['-R', `rdump / ${outDir}`, image], { maxBuffer: 16 << 20 });
  return { dataDir: outDir, fsckCode, fsckOutput };
}
