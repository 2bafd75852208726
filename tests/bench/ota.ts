// OTA benchmark on the process-level harness (tests/helpers/ota-device.ts) with images of this
// checkout: bytes downloaded for an app-only release against the changed layers and the full
// image; time to apply and commit (soak excluded); time to roll back a version that fails its
// health gate; the agent's memory idle (fresh, and after a check loaded TUF and the registry
// client) and while it downloads a whole image; RSS and PSS of the tree (supervisor, core,
// ota-agent and payout: the first device runs the development payout child against an
// unreachable TRON node, so the tree has its three children).
// Contract line: {"bench":"ota","ratioToChangedLayers":…,"applyCommitS":…,"rollbackS":…}.
import { readFileSync } from 'node:fs';
import { createReleaseEnv } from '../helpers/ota-releases.js';
import { OtaDevice } from '../helpers/ota-device.js';
import { treePids } from '../helpers/appliance.js';

const SOAK_S = 2;
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'ota', ...o }));
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

interface Mem { name: string; rssMB: number; pssMB: number; anonMB: number; fileMB: number }

function mem(pid: number): Mem {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('.mjs')) ?? '?';
  // anonymous: the process's own memory; file: pages of the node binary and libraries it maps
  // (shared with the other node processes, which is why PSS is lower than RSS).
  return { name: cmd.split('/').pop()!.replace('.mjs', ''), rssMB: round(kb('Rss') / 1024), pssMB: round(kb('Pss') / 1024), anonMB: round(kb('Anonymous') / 1024), fileMB: round((kb('Rss') - kb('Anonymous')) / 1024) };
}

/** The agent's memory, median of `n` samples one second apart (RSS moves by a few pages). */
async function agentMedian(device: OtaDevice, n = 5): Promise<Mem> {
  const samples: Mem[] = [];
  for (let i = 0; i < n; i++) {
    const a = tree(device).find((p) => p.name === 'ota-agent');
    if (a) samples.push(a);
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (samples.length === 0) throw new Error('no ota-agent process to measure');
  return samples.sort((x, y) => x.rssMB - y.rssMB)[Math.floor(samples.length / 2)]!;
}

function tree(device: OtaDevice): Array<Mem & { pid: number }> {
  const sup = device.supervisorPid;
  if (!sup) return [];
  return treePids(sup).flatMap((pid) => { try { return [{ ...mem(pid), pid }]; } catch { return []; } });
}

/**
 * Bytes the agent received for the job it hands over to the trial, from its persisted state
 * (`<data>/ota/state.json`, phase staged, switching or trial): read from disk, so the few
 * seconds a trial with a short soak lasts cannot be missed while core restarts.
 */
async function transferredOnTrial(device: OtaDevice): Promise<number> {
  return device.waitFor('the job handed to the trial', async () => {
    const s = (await device.agentState()) as { phase: string; job: { progress?: { transferred?: number } } | null } | null;
    const n = s && ['staged', 'switching', 'trial'].includes(s.phase) ? s.job?.progress?.transferred : undefined;
    return typeof n === 'number' ? n : null;
  }, 120_000, 20);
}

/** Samples the agent's RSS every 20 ms until `until` settles; returns the peak. */
async function peakAgentRss(device: OtaDevice, until: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void until.finally(() => { done = true; });
  while (!done) {
    const agent = tree(device).find((p) => p.name === 'ota-agent');
    if (agent) peak = Math.max(peak, agent.rssMB);
    await new Promise((r) => setTimeout(r, 20));
  }
  return peak;
}

export async function run(): Promise<void> {
  const env = await createReleaseEnv();
  const devices: OtaDevice[] = [];
  try {
    const [v1, v2, v3] = [await env.build('1.0.0'), await env.build('2.0.0'), await env.build('3.0.0', { fault: 'selftest-fails' })];
    const settings = { LUCID_OTA_URL: env.url, LUCID_OTA_AUTO_INSTALL: 'off', LUCID_OTA_SOAK_S: String(SOAK_S), LUCID_LOG_LEVEL: 'info' };
    // The development payout child (the supervisor starts it; on a device it is its own unit)
    // against a TRON node that is not there: it idles as it would between payouts.
    const withPayout = { ...settings, LUCID_PAYOUT: 'on', LUCID_TRON_URL: 'http://127.0.0.1:9' };
    const device = await OtaDevice.create(v1, { env: withPayout });
    devices.push(device);
    device.start();
    await device.waitCommitted('1.0.0');

    // Idle: right after start, then once the agent has dropped its start-up pages (its first
    // quiet 10 s tick after ready: hal/system/resident-pages.ts) and boot has settled.
    const agentStart = await agentMedian(device, 1);
    await new Promise((r) => setTimeout(r, 30_000));
    const agentIdle = await agentMedian(device);
    const idle = tree(device);
    emit({ metric: 'agent_idle', rss_mb: agentIdle.rssMB, pss_mb: agentIdle.pssMB, anon_mb: agentIdle.anonMB, file_mb: agentIdle.fileMB, at_start_rss_mb: agentStart.rssMB, goal_rss_mb: 45 });
    emit({ metric: 'tree_idle', processes: idle.map((p) => `${p.name} ${p.rssMB}/${p.pssMB}`), children: idle.length - 1, rss_mb: round(idle.reduce((s, p) => s + p.rssMB, 0)), pss_mb: round(idle.reduce((s, p) => s + p.pssMB, 0)) });

    // App-only release: bytes over the network, apply + commit.
    await env.publish(v2);
    await device.api('POST', '/api/v1/ota/check');
    // A check loads what an idle agent does not hold (TUF, the registry client): idle after it.
    await new Promise((r) => setTimeout(r, 25_000));
    const agentAfterCheck = await agentMedian(device);
    emit({ metric: 'agent_idle_after_check', rss_mb: agentAfterCheck.rssMB, pss_mb: agentAfterCheck.pssMB, anon_mb: agentAfterCheck.anonMB, file_mb: agentAfterCheck.fileMB, goal_rss_mb: 45 });
    const started = performance.now();
    const install = device.api('POST', '/api/v1/ota/install');
    const peakUpdating = await peakAgentRss(device, device.waitFor('v2 staged', async () => ((await device.hostState())?.trial ? true : null), 120_000, 50));
    await install;
    const transferred = await transferredOnTrial(device);
    const committed = await device.waitCommitted('2.0.0', 120_000);
    const applyCommitS = round((performance.now() - started) / 1000 - SOAK_S);
    const changed = v2.appLayer.size;
    emit({ metric: 'app_only_release', transferredBytes: transferred, changedLayerBytes: changed, fullImageBytes: v2.fullBytes, ratioToFullImage: round(transferred / v2.fullBytes, 4), agentPeakRssMB: peakUpdating, committedTo: committed.version });

    // A version failing its health gate: from its trial boot to the previous version healthy again.
    await env.publish(v3);
    await device.api('POST', '/api/v1/ota/check');
    await device.api('POST', '/api/v1/ota/install');
    const trialAt = await device.waitFor('v3 on trial', async () => ((await device.hostState())?.trial ? performance.now() : null), 120_000, 50);
    await device.waitFor('rolled back to v2', async () => {
      const s = await device.waitCommitted('2.0.0', 500).catch(() => null);
      return s?.history[0]?.version === '3.0.0' ? s : null;
    }, 120_000, 100);
    const rollbackS = round((performance.now() - trialAt) / 1000);
    emit({ bench: 'ota', ratioToChangedLayers: round(transferred / changed, 3), applyCommitS, rollbackS });

    // A device without any of the image's blobs downloads all of it: the agent's RSS meanwhile.
    await device.stop();
    await env.publish(v2); // the channel's release is v2 again (v3 was the broken one)
    const fresh = await OtaDevice.create(v1, { env: settings, seedBlobs: false });
    devices.push(fresh);
    fresh.start();
    await fresh.waitCommitted('1.0.0');
    await fresh.api('POST', '/api/v1/ota/check');
    const t0 = performance.now();
    void fresh.api('POST', '/api/v1/ota/install');
    const peakFull = await peakAgentRss(fresh, fresh.waitFor('v2 staged', async () => ((await fresh.hostState())?.trial ? true : null), 300_000, 50));
    const fullTransferred = await transferredOnTrial(fresh);
    emit({ metric: 'full_image_download', transferredBytes: fullTransferred, fullImageBytes: v2.fullBytes, seconds: round((performance.now() - t0) / 1000), agentPeakRssMB: peakFull });
  } finally {
    for (const d of devices) await d.destroy();
    await env.stop();
  }
}
