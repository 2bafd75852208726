// OTA benchmark on the process-level harness (tests/helpers/ota-device.ts) with images of this
// checkout: bytes downloaded for an app-only release against the changed layers and the full
// image; time to apply and commit (soak excluded); time to roll back a version that fails its
// health gate; the agent's memory idle and while it downloads a whole image; PSS of the tree.
// Contract line: {"bench":"ota","ratioToChangedLayers":…,"applyCommitS":…,"rollbackS":…}.
import { readFileSync } from 'node:fs';
import { createReleaseEnv } from '../helpers/ota-releases.js';
import { OtaDevice } from '../helpers/ota-device.js';
import { treePids } from '../helpers/appliance.js';

const SOAK_S = 2;
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'ota', ...o }));
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

function mem(pid: number): { name: string; rssMB: number; pssMB: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('.mjs')) ?? '?';
  return { name: cmd.split('/').pop()!.replace('.mjs', ''), rssMB: round(kb('Rss') / 1024), pssMB: round(kb('Pss') / 1024) };
}

function tree(device: OtaDevice): Array<{ name: string; rssMB: number; pssMB: number; pid: number }> {
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
    const device = await OtaDevice.create(v1, { env: settings });
    devices.push(device);
    device.start();
    await device.waitCommitted('1.0.0');

    // Idle: after boot has settled.
    await new Promise((r) => setTimeout(r, 15_000));
    const idle = tree(device);
    const agentIdle = idle.find((p) => p.name === 'ota-agent')!;
    emit({ metric: 'agent_idle', rss_mb: agentIdle.rssMB, pss_mb: agentIdle.pssMB, goal_rss_mb: 45 });
    emit({ metric: 'tree_idle', processes: idle.map((p) => `${p.name} ${p.rssMB}/${p.pssMB}`), rss_mb: round(idle.reduce((s, p) => s + p.rssMB, 0)), pss_mb: round(idle.reduce((s, p) => s + p.pssMB, 0)) });

    // App-only release: bytes over the network, apply + commit.
    await env.publish(v2);
    await device.api('POST', '/api/v1/ota/check');
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
